"""API clients of a partner's own software: OAuth client credentials, personal access
tokens, bearer authentication and the rate limit (docs/api.md, docs/decisions.md).

Secrets (client secrets, access tokens, personal access tokens) are long random strings,
shown once and stored as their SHA-256 only. Every request looks its token up again, so a
revocation holds from the next request on.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from passeur.bootstrap import App
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.api_scopes import MAX_PERSONAL_DAYS, parse_scopes, scope_text
from passeur.domain.audit import Change
from passeur.domain.clock import utcnow
from passeur.domain.errors import DomainError, InvalidInput
from passeur.domain.names import check_name
from passeur.domain.partners import Role
from passeur.services import audit
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import api_clients as rows
from passeur.storage.repositories import partners as partner_rows

ACCESS = "access"
PERSONAL = "personal"


class Unauthenticated(DomainError):
    """No valid credentials: unknown, expired or revoked (answered 401)."""


@dataclass(frozen=True)
class ApiCaller:
    """Who calls the API: an API client of one partner, with its token's scopes."""

    partner_id: int
    api_client_id: int
    scopes: frozenset[str]
    name: str = ""
    token_id: str = ""
    origin: str = "api"  # for the audit trail: "api" and the caller's address

    def actor(self) -> Actor:
        """The actor for services: an administrator of its partner (scopes narrow it
        further, at the API's door)."""
        return Actor(
            f"API client {self.name}",
            self.partner_id,
            frozenset({Role.ADMINISTRATOR}),
            origin=self.origin.strip(),
        )


@dataclass(frozen=True)
class ApiClient:
    id: int
    partner_id: int
    name: str
    client_key: str
    scopes: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class TokenInfo:
    id: str
    api_client_id: int
    name: str
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class Issued:
    """A new bearer token; `token` is its only appearance."""

    token: str
    info: TokenInfo

    @property
    def expires_in(self) -> int:
        return max(0, math.floor((self.info.expires_at - self.info.created_at).total_seconds()))


def create(
    app: App, partner_id: int, name: str, scopes: str | frozenset[str], *, actor: Actor = OPERATOR
) -> tuple[ApiClient, str]:
    """A new API client and its secret (shown once)."""
    require(actor, Action.MANAGE_API_CLIENTS, partner_id)
    clean = _name(name)
    granted = parse_scopes(scopes)
    key = "pc_" + secrets.token_hex(12)
    secret = "pcs_" + secrets.token_urlsafe(32)
    now = utcnow()
    with transaction(app.engine) as conn:
        partner_rows.get_partner(conn, partner_id)
        new_id = rows.add_client(
            conn, partner_id, clean, key, _digest(secret), scope_text(granted), now
        )
        made = _client(rows.get_client(conn, partner_id, new_id))
        _record(conn, actor, made, "api_client.create", {}, _state(made))
        return made, secret


def list_api_clients(app: App, partner_id: int, *, actor: Actor = OPERATOR) -> list[ApiClient]:
    require(actor, Action.MANAGE_API_CLIENTS, partner_id)
    with reading(app.engine) as conn:
        return [_client(r) for r in rows.list_clients(conn, partner_id)]


def get(app: App, partner_id: int, api_client_id: int, *, actor: Actor = OPERATOR) -> ApiClient:
    require(actor, Action.MANAGE_API_CLIENTS, partner_id)
    with reading(app.engine) as conn:
        return _client(rows.get_client(conn, partner_id, api_client_id))


def revoke(app: App, partner_id: int, api_client_id: int, *, actor: Actor = OPERATOR) -> ApiClient:
    """Revoke the client: its tokens stop working on the next request."""
    require(actor, Action.MANAGE_API_CLIENTS, partner_id)
    with transaction(app.engine) as conn:
        before = _client(rows.get_client(conn, partner_id, api_client_id))
        rows.revoke_client(conn, api_client_id, utcnow())
        after = _client(rows.get_client(conn, partner_id, api_client_id))
        if before.revoked_at is None:  # revoking again changes nothing
            _record(conn, actor, after, "api_client.revoke", _state(before), _state(after))
        return after


def create_personal_token(
    app: App,
    partner_id: int,
    api_client_id: int,
    name: str,
    *,
    days: int = 90,
    scopes: str | frozenset[str] = "",
    actor: Actor = OPERATOR,
) -> Issued:
    """A personal access token for a script, acting as the API client; within its scopes
    (all of them when none are given), expiring after `days`."""
    require(actor, Action.MANAGE_API_CLIENTS, partner_id)
    if not 1 <= days <= MAX_PERSONAL_DAYS:
        raise InvalidInput(f"a token lasts 1 to {MAX_PERSONAL_DAYS} days", field="days")
    clean = _name(name)
    with transaction(app.engine) as conn:
        client = _client(rows.get_client(conn, partner_id, api_client_id))
        if client.revoked_at is not None:
            raise InvalidInput(f"API client {api_client_id} is revoked", field="api_client")
        wanted = _within(client, scopes)
        issued = _issue(conn, client, PERSONAL, clean, wanted, timedelta(days=days))
        _record(conn, actor, client, "api_client.token_create", {}, _token_state(issued.info))
        return issued


def list_personal_tokens(
    app: App, partner_id: int, api_client_id: int, *, actor: Actor = OPERATOR
) -> list[TokenInfo]:
    require(actor, Action.MANAGE_API_CLIENTS, partner_id)
    with reading(app.engine) as conn:
        rows.get_client(conn, partner_id, api_client_id)
        return [_token(r) for r in rows.tokens_of(conn, api_client_id, PERSONAL)]


def revoke_token(
    app: App, partner_id: int, api_client_id: int, token_id: str, *, actor: Actor = OPERATOR
) -> TokenInfo:
    require(actor, Action.MANAGE_API_CLIENTS, partner_id)
    with transaction(app.engine) as conn:
        client = _client(rows.get_client(conn, partner_id, api_client_id))
        before = _token(rows.get_token(conn, api_client_id, token_id))
        rows.revoke_token(conn, token_id, utcnow())
        after = _token(rows.get_token(conn, api_client_id, token_id))
        if before.revoked_at is None:
            change = ("api_client.token_revoke", _token_state(before), _token_state(after))
            _record(conn, actor, client, *change)
        return after


def exchange(app: App, client_key: str, secret: str, scope: str = "") -> Issued:
    """OAuth 2.0 client credentials: a short-lived access token for a valid client."""
    with transaction(app.engine) as conn:
        found = rows.by_key(conn, client_key[:64]) if client_key else None
        # Compared even without a client, so that an unknown key costs as long as a wrong secret.
        expected = found.secret_hash if found is not None else _digest("")
        if not hmac.compare_digest(expected, _digest(secret)) or found is None:
            raise Unauthenticated("the client id or secret is not valid")
        if found.revoked_at is not None:
            raise Unauthenticated("this API client is revoked")
        client = _client(found)
        wanted = _within(client, scope)
        lifetime = timedelta(seconds=app.settings.api_token_seconds)
        return _issue(conn, client, ACCESS, "", wanted, lifetime)


def authenticate(app: App, token: str) -> ApiCaller:
    """The caller behind a bearer token, looked up now (revocation holds at once)."""
    if not token or len(token) > 200:
        raise Unauthenticated("a bearer token is needed")
    with reading(app.engine) as conn:
        row = rows.bearer(conn, _digest(token), utcnow())
    if row is None:
        raise Unauthenticated("this token is not valid: unknown, expired or revoked")
    return _caller(row)


def _caller(row: Any) -> ApiCaller:
    scopes = frozenset(row.token_scopes.split()) & frozenset(row.client_scopes.split())
    return ApiCaller(row.partner_id, row.api_client_id, scopes, row.name, row.token_id)


def admit(app: App, token: str) -> tuple[ApiCaller, int]:
    """A request's caller and its rate limit at once (one statement on PostgreSQL): the
    caller behind the bearer token, looked up now, and 0 when it may go on, else the whole
    seconds to wait. A request without a live token is not counted."""
    if not token or len(token) > 200:
        raise Unauthenticated("a bearer token is needed")
    window = timedelta(seconds=app.settings.api_rate_window_seconds)
    now = utcnow()
    with transaction(app.engine) as conn:
        row = rows.admit(conn, _digest(token), now, now - window)
    if row is None:
        raise Unauthenticated("this token is not valid: unknown, expired or revoked")
    return _caller(row), _wait(app, row.used, row.window_start, now, window)


def take(app: App, api_client_id: int) -> int:
    """Count one request against the client's limit: 0 when it may go on, else the whole
    seconds to wait (Retry-After). The window lives in the database, so every web process
    counts against the same limit."""
    window = timedelta(seconds=app.settings.api_rate_window_seconds)
    now = utcnow()
    with transaction(app.engine) as conn:
        used, started = rows.count_request(conn, api_client_id, now, now - window)
    return _wait(app, used, started, now, window)


def _wait(app: App, used: int, started: datetime, now: datetime, window: timedelta) -> int:
    if used <= app.settings.api_rate_limit:
        return 0
    return max(1, math.ceil((started + window - now).total_seconds()))


def _issue(
    conn: Connection,
    client: ApiClient,
    kind: str,
    name: str,
    scopes: frozenset[str],
    life: timedelta,
) -> Issued:
    prefix = "psa_" if kind == ACCESS else "psp_"
    token = prefix + secrets.token_urlsafe(32)
    now = utcnow()
    values: dict[str, Any] = {
        "token_hash": _digest(token),
        "id": secrets.token_hex(8),
        "api_client_id": client.id,
        "kind": kind,
        "name": name,
        "scopes": scope_text(scopes),
        "created_at": now,
        "expires_at": now + life,
    }
    rows.add_token(conn, **values)
    info = TokenInfo(str(values["id"]), client.id, name, scopes, now, now + life, None)
    return Issued(token, info)


def _record(
    conn: Connection,
    actor: Actor,
    client: ApiClient,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """The audit trail's event, in the change's transaction. Secrets and tokens are never
    in it: a client is named by its id and public key, a token by its id."""
    audit.record(conn, client.partner_id, actor, Change(action, client.id, before, after))


def _state(c: ApiClient) -> dict[str, Any]:
    return {
        "name": c.name,
        "client_id": c.client_key,
        "scopes": scope_text(c.scopes),
        "revoked": c.revoked_at is not None,
    }


def _token_state(t: TokenInfo) -> dict[str, Any]:
    return {
        "token": t.id,
        "name": t.name,
        "scopes": scope_text(t.scopes),
        "expires_at": t.expires_at.isoformat(timespec="seconds") + "Z",
        "revoked": t.revoked_at is not None,
    }


def _within(client: ApiClient, scopes: str | frozenset[str]) -> frozenset[str]:
    if not scopes:
        return client.scopes
    wanted = parse_scopes(scopes)
    beyond = sorted(wanted - client.scopes)
    if beyond:
        raise InvalidInput(f"the API client does not hold the scope {beyond[0]}", field="scope")
    return wanted


def _name(name: str) -> str:
    clean = (name or "").strip()
    if not clean or len(clean) > 200:
        raise InvalidInput("a name needs 1 to 200 characters", field="name")
    return check_name(clean, "a name")


def _client(r: Any) -> ApiClient:
    scopes = frozenset(r.scopes.split())
    return ApiClient(r.id, r.partner_id, r.name, r.client_key, scopes, r.created_at, r.revoked_at)


def _token(r: Any) -> TokenInfo:
    scopes = frozenset(r.scopes.split())
    return TokenInfo(
        r.id, r.api_client_id, r.name, scopes, r.created_at, r.expires_at, r.revoked_at
    )


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
