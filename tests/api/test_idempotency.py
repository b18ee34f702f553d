"""Idempotency-Key on POST: the same key and body answer the first answer and do nothing
twice; another body is refused; what is not the request's own answer is not kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from passeur.services import idempotency
from passeur.storage.db import reading
from passeur.storage.tables import clients, exports
from tests.api.conftest import World


def count(world: World, table) -> int:  # type: ignore[no-untyped-def]
    with reading(world.app.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def post(world: World, url: str, key: str, token: str | None = None, **kwargs):  # type: ignore[no-untyped-def]
    return world.http.post(
        "/api/v1" + url, headers=world.headers(token, **{"idempotency-key": key}), **kwargs
    )


def test_the_same_key_and_body_answer_the_first_answer_and_create_once(world: World) -> None:
    before = count(world, clients)
    first = post(world, "/clients", "make-acme", json={"name": "Acme"})
    again = post(world, "/clients", "make-acme", json={"name": "Acme"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert count(world, clients) == before + 1
    # A POST that queues exports (resend) is not queued twice either.
    doc = world.ours.ids["document"]
    queued = count(world, exports)
    one = post(world, f"/documents/{doc}/resend", "resend-1", json={})
    two = post(world, f"/documents/{doc}/resend", "resend-1", json={})
    made = len(one.json()["export_ids"])  # one per integration of the client
    assert one.json() == two.json() and count(world, exports) == queued + made


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(world: World) -> None:
    post(world, "/clients", "k", json={"name": "Acme"})
    before = count(world, clients)
    other = post(world, "/clients", "k", json={"name": "Other"})
    assert other.status_code == 422
    assert other.json()["type"] == "/api/v1/problems/idempotency-key-reused"
    elsewhere = post(
        world, "/templates", "k", json={"name": "T"}
    )  # another path is another request
    assert elsewhere.status_code == 422
    assert count(world, clients) == before


def test_a_refusal_is_replayed_but_an_answer_about_the_caller_is_not_kept(world: World) -> None:
    # A validation refusal is the request's own answer: the same again.
    bad = post(world, "/clients", "bad", json={"name": ""})
    assert (
        bad.status_code == 400
        and post(world, "/clients", "bad", json={"name": ""}).json() == bad.json()
    )
    # 403 (missing scope) is about the token: the key stays free for a token that may.
    narrow = world.token_with("clients:read")
    assert post(world, "/clients", "later", narrow, json={"name": "Later"}).status_code == 403
    assert post(world, "/clients", "later", json={"name": "Later"}).status_code == 201


def test_keys_belong_to_one_api_client_and_last_a_day(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from passeur.services import api_clients

    other, _ = api_clients.create(world.app, world.ours.partner_id, "Other software", "all")
    token = api_clients.create_personal_token(world.app, world.ours.partner_id, other.id, "t").token
    assert post(world, "/clients", "shared", json={"name": "A"}).status_code == 201
    assert post(world, "/clients", "shared", token, json={"name": "B"}).status_code == 201
    real = idempotency.utcnow
    monkeypatch.setattr(idempotency, "utcnow", lambda: real() + timedelta(hours=24, seconds=1))
    before = count(world, clients)
    assert post(world, "/clients", "shared", json={"name": "C"}).status_code == 201
    assert count(world, clients) == before + 1


def test_a_malformed_key_is_refused(world: World) -> None:
    answer = post(world, "/clients", "x" * 256, json={"name": "A"})
    assert answer.status_code == 400 and answer.json()["type"] == "/api/v1/problems/invalid-input"
