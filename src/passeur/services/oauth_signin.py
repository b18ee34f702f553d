"""Signing an installation in to its target's account (OAuth 2.0 authorization code).

`begin` makes a random `state` and a PKCE code verifier, keeps the state's SHA-256 bound
to the partner, the person and the installation for a few minutes (the verifier sealed
beside it), and returns the provider's sign-in address with the verifier's S256
challenge. `finish` takes that state back exactly once, in the same person's session,
exchanges the provider's code (with the verifier) for a grant, and hands it to the grant
store (services/oauth_grants.py), which seals it with the installation's secrets.
Providers come with their extensions; until one is written, `finish` says so.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from passeur.bootstrap import App
from passeur.connectors import oauth, registry
from passeur.connectors.errors import ConnectorError, Misconfigured
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Outbound
from passeur.delivery.targets import installation_owner
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.clock import utcnow
from passeur.domain.errors import Conflict, InvalidInput
from passeur.domain.extensions import Installation, OAuthSpec, effective_config
from passeur.services import oauth_grants
from passeur.services.installations import get as get_installation
from passeur.storage.db import transaction
from passeur.storage.repositories import oauth_states

STATE_LIFETIME = timedelta(minutes=10)


class StateRefused(InvalidInput):
    """The provider's answer does not match a sign-in this person started: nothing changes."""


class NoProvider(Conflict):
    """The extension declares no OAuth sign-in, or its provider is not written yet."""


def begin(
    app: App, partner_id: int, installation_id: int, redirect_uri: str, *, actor: Actor = OPERATOR
) -> str:
    """Start signing the installation in: the address to send the person's browser to."""
    require(actor, Action.MANAGE_INSTALLATIONS, partner_id)
    installation = get_installation(app, partner_id, installation_id, actor=actor)
    spec = _spec(installation)
    authorize_url = oauth_grants.provider_url(
        app, spec, spec.authorize_url_setting, _config(installation)
    )
    client_id = oauth_grants.provider_setting(app, spec.client_id_setting)
    if not authorize_url or not client_id:
        missing = spec.authorize_url_setting if not authorize_url else spec.client_id_setting
        raise NoProvider(
            f"signing in with {spec.provider} is not set up: the operator must set "
            f"PASSEUR_{missing.upper()}"
        )
    state = secrets.token_urlsafe(32)
    verifier, challenge = oauth.pkce_pair()
    sealed = app.secrets.seal(
        {"code_verifier": verifier}, installation_owner(partner_id, installation_id)
    )
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
            sealed,
        )
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if spec.scope:
        query["scope"] = spec.scope
    query.update(dict(spec.authorize_params))
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
    installation_id, sealed_verifier = _take(app, partner_id, state, actor)
    if error:
        raise Conflict(f"the sign-in was not completed: the provider answered {error[:100]!r}")
    installation = get_installation(app, partner_id, installation_id, actor=actor)
    spec = _spec(installation)
    if not spec.token_url_setting:
        raise NoProvider(f"{spec.provider}: this extension has no OAuth provider yet")
    if not code:
        raise StateRefused("the provider's answer carries no code; start the sign-in again")
    try:
        client = oauth_grants.client_for(app, spec, _config(installation))
    except Misconfigured as exc:
        raise NoProvider(exc.message) from None
    owner = installation_owner(partner_id, installation_id)
    verifier = app.secrets.open(sealed_verifier, owner).get("code_verifier", "")
    if not verifier:  # a sign-in begun before PKCE: its code cannot be exchanged safely
        raise StateRefused("this sign-in has no PKCE verifier; start the sign-in again")
    http = Outbound(Guard(app.settings.network_policy), timeout=oauth_grants.TOKEN_TIMEOUT)
    try:
        grant = await oauth.exchange_code(http, client, code, redirect_uri, verifier)
    except ConnectorError as exc:  # refused, unreachable: the person starts again
        raise Conflict(f"the sign-in was not completed: {exc.message}") from None
    finally:
        await http.close()
    oauth_grants.store(app, partner_id, installation_id, grant, actor=actor)
    return get_installation(app, partner_id, installation_id, actor=actor)


def _take(app: App, partner_id: int, state: str, actor: Actor) -> tuple[int, str]:
    """The installation the state was made for, and its sealed code verifier; the state
    is used up (unless refused)."""
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
        return int(row.installation_id), str(row.code_verifier or "")


def _spec(installation: Installation) -> OAuthSpec:
    ext = registry.extension(installation.extension)
    if ext.oauth is None:
        raise NoProvider(f"{ext.name}: this extension has no OAuth provider yet")
    return ext.oauth


def _config(installation: Installation) -> dict[str, Any]:
    """Its values with the defaults (the provider's host may come from one)."""
    return effective_config(registry.extension(installation.extension), installation.config)


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()
