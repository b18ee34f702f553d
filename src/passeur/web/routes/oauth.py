"""Signing an installation in with its provider (OAuth): the way out, and the way back.

The provider sends the person back to /oauth/callback with the `state` we gave it; that
state must be one this person started, for this partner, unused and not expired.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passeur.services import oauth_signin
from passeur.web.pages import render
from passeur.web.visitors import Visitor, the_app, visitor

router = APIRouter()


@router.get("/installations/{installation_id:id}/oauth")
def sign_in(request: Request, installation_id: int, v: Visitor = Depends(visitor)) -> Response:
    """A link, not a form: the provider's page is another site (the CSP's form-action)."""
    redirect_uri = str(request.url_for("oauth_callback"))
    address = oauth_signin.begin(
        the_app(request), v.partner_id, installation_id, redirect_uri, actor=v.actor
    )
    return RedirectResponse(address, status_code=303)


@router.get("/oauth/callback", response_class=HTMLResponse, name="oauth_callback")
async def callback(
    request: Request,
    state: str = "",
    code: str = "",
    error: str = "",
    v: Visitor = Depends(visitor),
) -> Response:
    redirect_uri = str(request.url_for("oauth_callback"))
    if len(state) > 200 or len(code) > 2000 or len(error) > 200:
        reason = "the provider's answer is longer than a sign-in answer can be"
        return render(request, "oauth/refused.html", {"reason": reason}, status=400)
    try:
        inst = await oauth_signin.finish(
            the_app(request),
            v.partner_id,
            state,
            code,
            redirect_uri,
            error=error,
            actor=v.actor,
        )
    except oauth_signin.StateRefused as exc:
        return render(request, "oauth/refused.html", {"reason": str(exc)}, status=400)
    return RedirectResponse(f"/installations/{inst.id}?signed_in=1", status_code=303)
