"""Signing an installation in to its target's account (OAuth 2.0 authorization code).

`begin` makes a random `state`, keeps its SHA-256 bound to the partner, the person and the
installation for a few minutes, and returns the provider's sign-in address. `finish`
takes that state back exactly once, in the same person's session, and hands the provider's
code to the extension, which turns it into tokens kept as the installation's secrets.
Providers come with their extensions; until one is written, `finish` says so.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.delivery.targets import installation_owner
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.clock import utcnow
from passeur.domain.errors import Conflict, InvalidInput
from passeur.domain.extensions import Installation, OAuthSpec
from passeur.services.installations import get as get_installation
from passeur.storage.db import transaction
from passeur.storage.repositories import installations as rows
from passeur.storage.repositories import oauth_states

STATE_LIFETIME = timedelta(minutes=10)


class StateRefused(InvalidInput):
    """The provider's answer does not match a sign-in this person started: nothing changes."""


class NoProvider(Conflict):
    """The extension declares no OAuth sign-in, or its provider is not written yet."""


def provider_setting(app: App, name: str) -> str:
    """One of the operator's settings for a provider (its URL, our client id)."""
    return str(getattr(app.settings, name, "") or "")


def begin(
    app: App, partner_id: int, installation_id: int, redirect_uri: str, *, actor: Actor = OPERATOR
) -> str:
    """Start signing the installation in: the address to send the person's browser to."""
    require(actor, Action.MANAGE_INSTALLATIONS, partner_id)
    installation = get_installation(app, partner_id, installation_id, actor=actor)
    spec = _spec(installation)
    authorize_url = provider_setting(app, spec.authorize_url_setting)
    client_id = provider_setting(app, spec.client_id_setting)
    if not authorize_url or not client_id:
        missing = spec.authorize_url_setting if not authorize_url else spec.client_id_setting
        raise NoProvider(
            f"signing in with {spec.provider} is not set up: the operator must set "
            f"PASSEUR_{missing.upper()}"
        )
    state = secrets.token_urlsafe(32)
    now = utcnow()
    with transaction(app.engine) as conn:
        oauth_states.drop_expired(conn, now)
        oauth_states.add_state(
            conn,
            _hash(state),
            partner_id,
            actor.user_id,
            installation_id,
            now,
            now + STATE_LIFETIME,
        )
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if spec.scope:
        query["scope"] = spec.scope
    separator = "&" if "?" in authorize_url else "?"
    return f"{authorize_url}{separator}{urlencode(query)}"


async def finish(
    app: App,
    partner_id: int,
    state: str,
    code: str,
    redirect_uri: str,
    *,
    error: str = "",
    actor: Actor = OPERATOR,
) -> Installation:
    """The provider's answer: check the state (once), then keep the tokens the code gives.

    A state that is unknown, already used, expired, or started by someone else is
    refused and changes nothing.
    """
    require(actor, Action.MANAGE_INSTALLATIONS, partner_id)
    installation_id = _take(app, partner_id, state, actor)
    if error:
        raise Conflict(f"the sign-in was not completed: the provider answered {error[:100]!r}")
    installation = get_installation(app, partner_id, installation_id, actor=actor)
    spec = _spec(installation)
    if spec.exchange is None or not code:
        raise NoProvider(f"{spec.provider}: this extension has no OAuth provider yet")
    tokens = await spec.exchange(code, redirect_uri)
    owner = installation_owner(partner_id, installation_id)
    with transaction(app.engine) as conn:
        row = rows.get_installation_row(conn, partner_id, installation_id, for_update=True)
        kept = {**app.secrets.open(row.secrets, owner), **tokens}
        rows.update_installation(conn, installation_id, secrets=app.secrets.seal(kept, owner))
    return get_installation(app, partner_id, installation_id, actor=actor)


def _take(app: App, partner_id: int, state: str, actor: Actor) -> int:
    """The installation the state was made for; the state is used up (unless refused)."""
    if not state or len(state) > 200:
        raise StateRefused("the provider's answer carries no sign-in to continue")
    with transaction(app.engine) as conn:
        row = oauth_states.take_state(conn, _hash(state))
        if row is None:
            raise StateRefused("this sign-in link is unknown or was already used")
        if row.partner_id != partner_id or row.user_id != actor.user_id:
            # Rolled back: the person who started it may still finish it.
            raise StateRefused("this sign-in was started by someone else")
        if row.expires_at <= utcnow():
            minutes = int(STATE_LIFETIME.total_seconds() // 60)
            raise StateRefused(f"this sign-in took longer than {minutes} minutes; start again")
        return int(row.installation_id)


def _spec(installation: Installation) -> OAuthSpec:
    ext = registry.extension(installation.extension)
    if ext.oauth is None:
        raise NoProvider(f"{ext.name}: this extension has no OAuth provider yet")
    return ext.oauth


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()
