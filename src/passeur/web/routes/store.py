"""The store ("Discover more"): the catalogue, and installing an extension from it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passeur.domain.documents import Family
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Extension
from passeur.services import catalog, installations
from passeur.web import forms
from passeur.web.i18n import N_
from passeur.web.pages import render
from passeur.web.visitors import Visitor, the_app, visitor

router = APIRouter()

# The store's filters, in the order the page shows them (services/catalog.py GROUPS).
FILTERS = [
    ("cloud", N_("Cloud")),
    ("accounting", N_("Accounting software")),
    ("transfer", N_("File transfer")),
]
_FILTER_NAMES = dict(FILTERS)


@router.get("/store", response_class=HTMLResponse)
def store(
    request: Request, q: str = "", group: str = "", v: Visitor = Depends(visitor)
) -> Response:
    q = q[:100]
    try:
        found = catalog.search(v.partner_id, q, group, translate=v.lang.gettext, actor=v.actor)
    except InvalidInput:
        group = ""
        found = catalog.search(v.partner_id, q, translate=v.lang.gettext, actor=v.actor)
    context = {
        "extensions": [
            (
                ext,
                _FILTER_NAMES.get(catalog.group_of(ext), ""),
                [f for f in Family if f in ext.families],
            )
            for ext in found
        ],
        "q": q,
        "group": group,
        "filters": FILTERS,
    }
    return render(request, "store/list.html", context, section="store")


@router.get("/store/{slug}/install", response_class=HTMLResponse)
def install_page(request: Request, slug: str, v: Visitor = Depends(visitor)) -> Response:
    ext = catalog.for_install(v.partner_id, slug, actor=v.actor)
    return _install_form(request, ext, "", forms.install_form(ext))


@router.post("/store/{slug}/install", response_class=HTMLResponse)
async def install(request: Request, slug: str, v: Visitor = Depends(visitor)) -> Response:
    ext = catalog.for_install(v.partner_id, slug, actor=v.actor)
    submitted = await request.form()
    name = str(submitted.get("name", ""))[:1000]
    values = forms.parse(ext.install_fields, submitted)
    try:
        made = installations.install(
            the_app(request), v.partner_id, slug, name, values, actor=v.actor
        )
    except InvalidInput as exc:
        errors = {exc.field: str(exc)} if exc.field else {}
        form = forms.install_form(
            ext,
            forms.shown_again(ext.install_fields, submitted),
            errors=errors,
            error="" if exc.field else str(exc),
        )
        name_error = str(exc) if exc.field == "name" else ""
        return _install_form(request, ext, name, form, name_error=name_error, status=400)
    return RedirectResponse(f"/installations/{made.id}?installed=1", status_code=303)


def _install_form(
    request: Request,
    ext: Extension,
    name: str,
    form: forms.Form,
    *,
    name_error: str = "",
    status: int = 200,
) -> Response:
    context = {"ext": ext, "name": name, "form": form, "name_error": name_error}
    return render(request, "store/install.html", context, status=status, section="store")
