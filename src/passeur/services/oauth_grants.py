"""The grant store: an installation's OAuth tokens, kept sealed with its secrets, and the
only code that refreshes them.

A connector never holds a token: its target carries a `GrantTokens` (target.tokens) and
asks it for one before each call, and once more, with the refused one, after a 401.

* A token valid for more than the provider's margin (60 s unless it says otherwise; a
  quarter of the lifetime for a token given for less than four minutes) is handed out
  as it is (no lock).
* Otherwise the refresh is **serialised per grant across processes and machines**: the
  installation's row is locked (`SELECT … FOR UPDATE` on PostgreSQL, the write lock
  `BEGIN IMMEDIATE` on SQLite), the grant is read again (another worker may just have
  refreshed it: then its token is used and no refresh happens), the provider is asked,
  and the new access token and the refresh token it rotated to are sealed and written
  in that same transaction, before anyone uses them. Exact Online kills the previous
  refresh token once the new one is used, so two unserialised refreshes would lock
  the installation out.
* A refused refresh (revoked, expired, already rotated) commits the installation's
  integrations to "needs attention" with the reason "Sign in again", their queued
  exports parked with them (nothing is lost), and raises NeedsReauth. Signing in again
  (services/oauth_signin.py) stores a new grant and releases them.

The lock is held for the length of the token call, so that call has a short timeout.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, update

from passeur.bootstrap import App
from passeur.connectors import oauth, registry
from passeur.connectors.errors import Misconfigured, NeedsReauth
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Outbound
from passeur.delivery import holds, notices
from passeur.delivery.document_statuses import refresh_document_statuses
from passeur.delivery.wakeups import notify
from passeur.domain.access import OPERATOR, Actor
from passeur.domain.audit import CHANGED_SECRET, Change
from passeur.domain.clock import utcnow
from passeur.domain.exports import CLAIMABLE, ExportState
from passeur.domain.extensions import IntegrationStatus, OAuthSpec, effective_config
from passeur.domain.notices import Cause
from passeur.monitoring.metrics import TOKEN_REFRESHES
from passeur.services import audit
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import installations as rows
from passeur.storage.tables import exports, integrations

TOKEN_TIMEOUT = 10.0  # seconds per operation of a token call (a lock is held meanwhile)
SIGN_IN_AGAIN = "Sign in again"
# The installation's secrets that make its grant; a connector's target never carries them.
GRANT_FIELDS = frozenset(
    {"access_token", "access_expires_at", "access_lifetime", "refresh_token", "refresh_expires_at"}
)


def provider_setting(app: App, name: str) -> str:
    """One of the operator's settings for a provider (its URL, our client id or secret)."""
    value: Any = getattr(app.settings, name, "") or ""
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    return str(value)


def provider_url(app: App, spec: OAuthSpec, name: str, config: Mapping[str, Any]) -> str:
    """A provider's URL setting for one installation (Exact: its country's host)."""
    return spec.url(provider_setting(app, name), config)


def client_for(
    app: App, spec: OAuthSpec, config: Mapping[str, Any] | None = None
) -> oauth.OAuthClient:
    token_url = (
        provider_url(app, spec, spec.token_url_setting, config or {})
        if spec.token_url_setting
        else ""
    )
    client_id = provider_setting(app, spec.client_id_setting)
    if not token_url or not client_id:
        raise Misconfigured(
            f"signing in with {spec.provider} is not set up: the operator must set its "
            "token URL and client id"
        )
    secret = provider_setting(app, spec.client_secret_setting) if spec.client_secret_setting else ""
    return oauth.OAuthClient(token_url, client_id, secret, refresh_margin=spec.refresh_margin)


def _owner(partner_id: int, installation_id: int) -> str:
    from passeur.delivery.targets import installation_owner

    return installation_owner(partner_id, installation_id)


@dataclass(frozen=True)
class _Held:
    access_token: str = field(repr=False)
    expires_at: float
    lifetime: float
    refresh_token: str = field(repr=False)

    def usable(self, refused: str, margin: float) -> bool:
        left = self.expires_at - time.time()
        return (
            bool(self.access_token)
            and self.access_token != refused
            and left > min(margin, self.lifetime / 4)
        )


def _held(secrets: dict[str, str]) -> _Held:
    try:
        expires_at = float(secrets.get("access_expires_at") or 0)
        lifetime = float(secrets.get("access_lifetime") or oauth.DEFAULT_LIFETIME)
    except ValueError:
        expires_at, lifetime = 0.0, oauth.DEFAULT_LIFETIME
    return _Held(
        secrets.get("access_token", ""), expires_at, lifetime, secrets.get("refresh_token", "")
    )


async def valid_token(
    app: App,
    partner_id: int,
    installation_id: int,
    *,
    refused: str = "",
    client: oauth.OAuthClient | None = None,
) -> str:
    """An access token that is not about to expire (and is never `refused`).

    `client` is our registration at the provider; by default, from the installation's
    extension and the operator's settings. Raises NeedsReauth when the grant is gone
    (the integrations are parked first), TransientError or RateLimited when the
    provider cannot be asked right now.
    """
    held, _ = await _valid(app, partner_id, installation_id, refused, client)
    return held.access_token


async def _valid(
    app: App,
    partner_id: int,
    installation_id: int,
    refused: str,
    client: oauth.OAuthClient | None,
) -> tuple[_Held, float]:
    """The usable grant, and the margin before its end at which it must be refreshed."""
    held, extension, config = await asyncio.to_thread(_read, app, partner_id, installation_id)
    if client is None:
        spec = registry.extension(extension).oauth
        if spec is None:
            raise Misconfigured(f"the {extension} extension does not sign in with OAuth")
        client = client_for(app, spec, config)
    if held.usable(refused, client.refresh_margin):
        return held, client.refresh_margin
    # One refresh per grant in this process at a time; the database lock does the same
    # across processes. The refresh runs in a thread that holds the transaction, on an
    # event loop of its own (its DNS lookups cannot queue behind blocked threads).
    async with _local_lock(app.engine, installation_id):
        fresh = await asyncio.to_thread(
            _refresh_locked, app, partner_id, installation_id, refused, client
        )
    return fresh, client.refresh_margin


def _read(app: App, partner_id: int, installation_id: int) -> tuple[_Held, str, dict[str, Any]]:
    with reading(app.engine) as conn:
        row = rows.get_installation_row(conn, partner_id, installation_id)
    secrets = app.secrets.open(row.secrets, _owner(partner_id, installation_id))
    values = dict(row.config or {})
    known = registry.extensions().get(str(row.extension))
    return _held(secrets), str(row.extension), effective_config(known, values) if known else values


def _refresh_locked(
    app: App, partner_id: int, installation_id: int, refused: str, client: oauth.OAuthClient
) -> _Held:
    owner = _owner(partner_id, installation_id)
    with transaction(app.engine) as conn:
        row = rows.get_installation_row(conn, partner_id, installation_id, for_update=True)
        secrets = app.secrets.open(row.secrets, owner)
        held = _held(secrets)
        if held.usable(refused, client.refresh_margin):
            return held  # another worker refreshed it while we waited

        refreshes = TOKEN_REFRESHES.labels  # by extension and outcome
        try:
            if not held.refresh_token:
                raise NeedsReauth("the installation has not signed in")
            grant = asyncio.run(_refresh(app, client, held.refresh_token))
        except oauth.TooEarly:
            refreshes(row.extension, "too_early").inc()
            if held.access_token and held.access_token != refused and held.expires_at > time.time():
                return held  # it still works: use it until the provider agrees
            raise
        except NeedsReauth as exc:
            refreshes(row.extension, "needs_sign_in").inc()
            failure = NeedsReauth(f"{SIGN_IN_AGAIN}: {exc.message}")
            park(conn, installation_id, failure.message)
        except Exception:
            refreshes(row.extension, "error").inc()
            raise
        else:
            refreshes(row.extension, "refreshed").inc()
            _write(app, conn, installation_id, owner, secrets, grant)
            return _Held(grant.access_token, grant.expires_at, grant.lifetime, grant.refresh_token)
    raise failure  # after the commit: the parking stays


async def _refresh(app: App, client: oauth.OAuthClient, refresh_token: str) -> oauth.Grant:
    http = Outbound(Guard(app.settings.network_policy), timeout=TOKEN_TIMEOUT, max_connections=1)
    try:
        return await oauth.refresh(http, client, refresh_token)
    finally:
        await http.close()


def _write(
    app: App,
    conn: Connection,
    installation_id: int,
    owner: str,
    secrets: dict[str, str],
    grant: oauth.Grant,
) -> None:
    kept = {
        **secrets,
        "access_token": grant.access_token,
        "access_expires_at": f"{grant.expires_at:.3f}",
        "access_lifetime": f"{grant.lifetime:g}",
        "refresh_token": grant.refresh_token,
    }
    if grant.refresh_expires_at is not None:  # kept for the credential health check
        kept["refresh_expires_at"] = f"{grant.refresh_expires_at:.0f}"
    elif grant.refresh_token != secrets.get("refresh_token"):
        kept.pop("refresh_expires_at", None)  # a new refresh token of unknown lifetime
    rows.update_installation(conn, installation_id, secrets=app.secrets.seal(kept, owner))


def store(
    app: App,
    partner_id: int,
    installation_id: int,
    grant: oauth.Grant,
    *,
    actor: Actor = OPERATOR,
) -> None:
    """Keep a new grant (a sign-in): integrations waiting for it go back to work."""
    owner = _owner(partner_id, installation_id)
    with transaction(app.engine) as conn:
        row = rows.get_installation_row(conn, partner_id, installation_id, for_update=True)
        _write(app, conn, installation_id, owner, app.secrets.open(row.secrets, owner), grant)
        waiting = list(
            conn.execute(
                update(integrations)
                .where(
                    integrations.c.installation_id == installation_id,
                    integrations.c.status == IntegrationStatus.NEEDS_ATTENTION.value,
                    integrations.c.status_reason.startswith(SIGN_IN_AGAIN),
                )
                .values(
                    status=IntegrationStatus.ACTIVE.value, status_reason="", updated_at=utcnow()
                )
                .returning(integrations.c.id)
            ).scalars()
        )
        holds.release(conn, waiting, parked_too=True)
        before = {"connected": bool(row.secrets)}
        after = {"connected": True, "tokens": CHANGED_SECRET, "resumed_integrations": waiting}
        change = Change("installation.connect", installation_id, before, after)
        audit.record(conn, partner_id, actor, change)


def park(conn: Connection, installation_id: int, reason: str) -> None:
    """The installation's working integrations need attention; their queued exports wait
    (they go out once someone signs in again)."""
    now = utcnow()
    parked = list(
        conn.execute(
            update(integrations)
            .where(
                integrations.c.installation_id == installation_id,
                integrations.c.status == IntegrationStatus.ACTIVE.value,
            )
            .values(
                status=IntegrationStatus.NEEDS_ATTENTION.value,
                status_reason=reason[:1000],
                updated_at=now,
            )
            .returning(integrations.c.id)
        ).scalars()
    )
    if not parked:
        return
    for integration_id in parked:
        notices.record(conn, Cause.INTEGRATION_NEEDS_ATTENTION, integration_id, reason=reason)
    waiting = conn.execute(
        update(exports)
        .where(
            exports.c.integration_id.in_(parked),
            exports.c.state.in_([s.value for s in CLAIMABLE]),
        )
        .values(
            state=ExportState.NEEDS_ATTENTION.value,
            due_at=None,
            last_error="waiting: the integration needs attention",
            updated_at=now,
        )
        .returning(exports.c.document_id)
    ).all()
    refresh_document_statuses(conn, {r.document_id for r in waiting})
    notify(conn)


class GrantTokens:
    """A connector's source of access tokens for one installation (target.tokens).

    The worker keeps a target between tries while its installation is unchanged, so the
    token last read stays in memory and is handed out again while it is far from its end:
    a call then costs no read of the installation and no opening of its secrets. A token
    the target refused, or one near its end, goes back to the grant store.
    """

    def __init__(self, app: App, partner_id: int, installation_id: int) -> None:
        self._app = app
        self._partner_id = partner_id
        self._installation_id = installation_id
        self._held: _Held | None = None
        self._margin = 0.0
        # Every token handed out with this target, for the worker to redact (one per
        # refresh: the set stays small).
        self._handed: set[str] = set()

    async def token(self, refused: str = "") -> str:
        held = self._held
        if held is None or not held.usable(refused, self._margin):
            held, self._margin = await _valid(
                self._app, self._partner_id, self._installation_id, refused, None
            )
            self._held = held
        self._handed.add(held.access_token)
        return held.access_token

    def handed_out(self) -> list[str]:
        return list(self._handed)


_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[int, int], asyncio.Lock]]
_LOCKS = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def _local_lock(engine: Engine, installation_id: int) -> asyncio.Lock:
    """One lock per grant and event loop (an asyncio lock belongs to one loop)."""
    loop = asyncio.get_running_loop()
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(loop, {}).setdefault((id(engine), installation_id), asyncio.Lock())
