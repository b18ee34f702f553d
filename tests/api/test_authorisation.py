"""The authorisation matrix, generated over every operation of the schema: another
partner's ids answer 404, a token without the operation's scope 403, a revoked or expired
token 401; and none of them changes anything in the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from passeur.domain.api_scopes import SCOPES
from passeur.storage.db import reading, transaction
from passeur.storage.tables import api_rates, api_tokens, metadata
from tests.api.conftest import World
from tests.api.requests import NO_TENANT_IDS, OPERATIONS, call

METHODS = ("get", "post", "put", "patch", "delete")


def operations(world: World) -> dict[str, str]:
    """Every operation of the published schema with the scope it needs."""
    doc = world.http.get("/api/v1/openapi.json").json()
    found = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in METHODS or path == "/oauth/token":
                continue
            (requirement,) = op["security"]
            (scope,) = requirement["oauth2"]
            found[f"{method.upper()} {path}"] = scope
    return found


def snapshot(world: World) -> dict[str, list[Any]]:
    """Every row of every table (but the rate-limit counters, which count every request)."""
    with reading(world.app.engine) as conn:
        return {
            t.name: sorted(map(repr, conn.execute(select(t))))
            for t in metadata.sorted_tables
            if t is not api_rates
        }


def send(world: World, operation: str, token: str | None = None, *, theirs: bool = True) -> Any:
    made = call(operation, world.theirs if theirs else world.ours)
    return world.http.request(made.method, made.url, headers=world.headers(token), **made.kwargs)


def test_every_operation_has_a_request_and_a_scope(world: World) -> None:
    found = operations(world)
    assert set(found) == set(OPERATIONS), "a new route needs its line in tests/api/requests.py"
    assert set(found.values()) <= SCOPES
    assert len(found) >= 55


def test_another_partners_ids_are_not_found_and_nothing_changes(world: World) -> None:
    before = snapshot(world)
    checked = 0
    for operation in operations(world):
        if operation in NO_TENANT_IDS:
            continue
        answer = send(world, operation)
        assert answer.status_code == 404, (operation, answer.status_code, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "/api/v1/problems/not-found"
        checked += 1
    assert snapshot(world) == before
    assert checked >= 45


def test_a_token_without_the_scope_is_forbidden_and_nothing_changes(world: World) -> None:
    found = operations(world)
    tokens = {
        scope: world.token_with(" ".join(sorted(SCOPES - {scope}))) for scope in set(found.values())
    }
    before = snapshot(world)
    for operation, scope in found.items():
        answer = send(world, operation, tokens[scope], theirs=False)
        assert answer.status_code == 403, (operation, answer.status_code, answer.text)
        assert answer.json()["type"] == "/api/v1/problems/insufficient-scope"
        assert scope in answer.headers["www-authenticate"]
    assert snapshot(world) == before


def test_revoked_and_expired_tokens_are_refused_from_the_next_request(world: World) -> None:
    assert world.http.get("/api/v1/clients", headers=world.headers()).status_code == 200
    expired = world.token_with("all")
    with transaction(world.app.engine) as conn:
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.name == "narrow")
            .values(expires_at=api_tokens.c.created_at)
        )
    from passeur.services import api_clients

    api_clients.revoke(world.app, world.ours.partner_id, world.api_client_id)
    before = snapshot(world)
    for token in (world.token, expired, "psp_made-up", ""):
        for operation in operations(world):
            answer = send(world, operation, token, theirs=False)
            assert answer.status_code == 401, (operation, answer.status_code, answer.text)
            assert answer.headers["www-authenticate"].startswith("Bearer")
    assert snapshot(world) == before
