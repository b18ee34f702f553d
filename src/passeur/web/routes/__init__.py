"""One router per area of the partner space; app.py includes them in this order."""

from __future__ import annotations

from fastapi import APIRouter

from passeur.web.routes import auth, business, exports, home, users

ROUTERS: list[APIRouter] = [auth.router, home.router, exports.router, users.router, business.router]
