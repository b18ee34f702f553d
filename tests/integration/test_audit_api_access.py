"""API clients, their personal tokens and webhook subscriptions in the audit trail: each
creation and revocation recorded with who and from where, never a secret or a token, and
nothing recorded for a refused change or a revocation that changes nothing."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from passeur.bootstrap import App
from passeur.connectors.http.signing import new_secret
from passeur.domain.errors import InvalidInput, NotFound
from passeur.domain.partners import Role
from passeur.services import actors, api_clients, audit, partners
from passeur.services import webhook_subscriptions as webhooks
from tests.integration.test_audit_trail import _all_text


def test_api_clients_tokens_and_subscriptions_are_audited_without_secrets(
    sqlite_app: App,
) -> None:
    app = sqlite_app
    pid = partners.create_partner(app, "Fiduciaire API").id
    other = partners.create_partner(app, "Other firm").id
    admin = partners.add_user(app, pid, "admin@api.be", "Ann", {Role.ADMINISTRATOR})
    actor = replace(actors.for_user(app, admin.id), origin="192.0.2.9")

    made, secret = api_clients.create(app, pid, "ERP sync", "clients:read feeds:read", actor=actor)
    issued = api_clients.create_personal_token(
        app, pid, made.id, "nightly", days=30, scopes="feeds:read", actor=actor
    )
    api_clients.revoke_token(app, pid, made.id, issued.info.id, actor=actor)
    api_clients.revoke_token(app, pid, made.id, issued.info.id, actor=actor)  # nothing new
    hook_secret = new_secret()
    hook, _ = webhooks.add(
        app, pid, "https://erp.example.be/events", event_types=["export.failed"],
        secret=hook_secret, actor=actor,
    )  # fmt: skip
    webhooks.remove(app, pid, hook.id, actor=actor)
    api_clients.revoke(app, pid, made.id, actor=actor)
    api_clients.revoke(app, pid, made.id, actor=actor)  # nothing new
    before = audit.of_partner(app, pid).events
    # Refused changes record nothing: unknown scope, another firm's client, a bad URL.
    with pytest.raises(InvalidInput):
        api_clients.create(app, pid, "Typo", "clients:raed", actor=actor)
    with pytest.raises(NotFound):
        api_clients.revoke(app, other, made.id)
    with pytest.raises(InvalidInput):
        webhooks.add(app, pid, "http://plain.example.be", actor=actor)

    events = audit.of_partner(app, pid).events
    assert events == before
    assert [e.action for e in reversed(events)] == [
        "user.create",
        "api_client.create",
        "api_client.token_create",
        "api_client.token_revoke",
        "webhook.create",
        "webhook.delete",
        "api_client.revoke",
    ]
    mine = [e for e in events if e.action != "user.create"]
    assert {(e.actor, e.origin) for e in mine} == {(actor.label, "192.0.2.9")}
    by_action = {e.action: e for e in events}
    created = json.loads(by_action["api_client.create"].after)
    assert created == {
        "name": "ERP sync",
        "client_id": made.client_key,
        "scopes": "clients:read feeds:read",
        "revoked": False,
    }
    token = json.loads(by_action["api_client.token_create"].after)
    assert token["token"] == issued.info.id and token["scopes"] == "feeds:read"
    assert by_action["api_client.token_create"].subject_id == made.id
    revoked = by_action["api_client.token_revoke"]
    assert json.loads(revoked.before)["revoked"] is False
    assert json.loads(revoked.after)["revoked"] is True
    assert json.loads(by_action["webhook.delete"].before)["event_types"] == ["export.failed"]
    assert json.loads(by_action["api_client.revoke"].after)["revoked"] is True

    trail = _all_text(app.engine)
    for value in (secret, issued.token, hook_secret):
        assert value not in trail
    assert audit.verify(app, pid) == []
    assert audit.of_partner(app, other).events == []
