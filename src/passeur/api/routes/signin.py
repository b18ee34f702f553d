"""Signing an installation in with its provider (OAuth) from the API: the API answers the
provider's address; the person the partner's software names opens it in a browser where
they are signed in to passeur, and the provider sends them back to /oauth/callback,
which completes the sign-in as it does for one started in the UI.

The sign-in is bound to that person (services/oauth_signin.py): only they can finish it,
within its lifetime, once. They must be one of the partner's users who may manage
installations (an administrator); an API client is no person and cannot finish one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from passeur.api.routes.common import Input, Instant, PathId, RowId
from passeur.api.security import ApiCaller, requires, the_app
from passeur.domain.clock import utcnow
from passeur.services import actors, oauth_signin, partners

router = APIRouter(tags=["installations"])
WRITE = requires("installations:write")


class SignInIn(Input):
    user_id: RowId = Field(
        description="The partner's user (an administrator) who will open the address in "
        "their browser, signed in to passeur; only they can complete the sign-in."
    )


class SignInOut(BaseModel):
    authorize_url: str = Field(description="Send the person's browser here (the provider).")
    expires_at: Instant = Field(description="Complete the sign-in before this.")


@router.post("/installations/{installation_id}/sign-in", response_model=SignInOut)
def sign_in(
    installation_id: PathId, body: SignInIn, request: Request, c: ApiCaller = Depends(WRITE)
) -> SignInOut:
    """Start signing the installation in with its provider (an extension that declares
    OAuth: Dropbox, Google Drive, OneDrive, Exact Online…); 409 for one that does not, or
    whose provider the operator has not set up."""
    app = the_app(request)
    partners.get_user(app, c.partner_id, body.user_id, actor=c.actor())  # theirs: not found
    person = replace(actors.for_user(app, body.user_id), origin=c.origin)
    started: datetime = utcnow()
    address = oauth_signin.begin(
        app, c.partner_id, installation_id, _callback(request), actor=person
    )
    return SignInOut(authorize_url=address, expires_at=started + oauth_signin.STATE_LIFETIME)


def _callback(request: Request) -> str:
    """The web app's /oauth/callback, where the provider sends the person back."""
    return str(request.url_for("oauth_callback"))
