"""Secrets are write-only: set every secret to a marker, call every operation of the API
with valid input, and grep every answer for it."""

from __future__ import annotations

from passeur.services import api_clients
from tests.api.conftest import HTTP_VALUES, MARKER, World
from tests.api.requests import OPERATIONS, call


def test_no_answer_of_any_operation_holds_a_secret(world: World) -> None:
    inst = world.ours.ids["installation"]
    answers = []
    # Secrets given through the API too (a change, and a new installation).
    changed = world.http.patch(
        f"/api/v1/installations/{inst}",
        headers=world.headers(),
        json={"values": {"api_key": MARKER, "api_key_header": "X-Key"}},
    )
    answers.append(changed)
    assert changed.status_code == 200, changed.text
    assert changed.json()["secrets"]["api_key"] == {"set": True}
    assert changed.json()["secrets"]["oauth_client_secret"] == {"set": False}
    for operation in OPERATIONS:
        made = call(operation, world.ours)
        answer = world.http.request(made.method, made.url, headers=world.headers(), **made.kwargs)
        assert answer.status_code < 500, (operation, answer.text)
        answers.append(answer)
    answers.append(world.http.get("/api/v1/openapi.json"))
    given = OPERATIONS["POST /webhooks"]["json"]["secret"]  # a subscription's, given by us
    for answer in answers:
        assert MARKER not in answer.text, answer.request.url
        assert world.token not in answer.text
        assert given not in answer.text and HTTP_VALUES["signing_secret"] not in answer.text


def test_a_client_secret_and_tokens_are_shown_once_and_kept_as_digests(world: World) -> None:
    made, secret = api_clients.create(
        world.app, world.ours.partner_id, "Shown once", "clients:read"
    )
    token = world.http.post(
        "/api/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": made.client_key,
            "client_secret": secret,
        },
    ).json()["access_token"]
    dump = "\n".join(
        line
        for line in world.app.engine.raw_connection().driver_connection.iterdump()  # type: ignore[union-attr]
    )
    assert secret not in dump and token not in dump and world.token not in dump
    assert MARKER not in dump  # installation secrets are sealed, not stored in clear
