"""Home: what needs attention across the practice."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passeur.web.pages import render
from passeur.web.visitors import Visitor, visitor

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, v: Visitor = Depends(visitor)) -> Response:
    if v.is_business:
        return RedirectResponse("/business", status_code=303)
    return render(request, "home.html", section="home")
