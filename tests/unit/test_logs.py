"""Structured logs: one JSON event per line, ids bound, declared secrets masked by value."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from passeur.monitoring import logs

SECRET = "MARKER-s3cr3t-value-42"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    logs.configure("json", stream=out)
    yield out
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "passeur", False)]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    logs.clear()
    structlog.reset_defaults()


def events(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_is_one_json_event_with_the_ids_bound(stream: io.StringIO) -> None:
    with logs.bound(partner_id=3, client_id=7, integration_id=11, export_id=13, attempt=2):
        logging.getLogger("passeur.worker").info("export %s: %s", 13, "sent", extra={"ms": 5})
    logs.get("passeur.web").warning("request", status=500)
    first, second = events(stream)
    assert first["event"] == "export 13: sent" and first["level"] == "info"
    assert (first["partner_id"], first["client_id"], first["integration_id"]) == (3, 7, 11)
    assert (first["export_id"], first["attempt"], first["ms"]) == (13, 2, 5)
    assert "export_id" not in second, "ids are bound to the work, not to the process"
    assert second["status"] == 500 and second["logger"] == "passeur.web"


def test_declared_secrets_are_masked_everywhere_in_the_event(stream: io.StringIO) -> None:
    log = logging.getLogger("passeur.connectors")
    with logs.redacting({"password": SECRET}.values()):
        log.warning("the server said: bad password %s", SECRET, extra={"echo": [SECRET]})
        try:
            raise RuntimeError(f"refused {SECRET}")
        except RuntimeError:
            log.exception("failed")
    assert SECRET not in stream.getvalue()
    said, failed = events(stream)
    assert said["event"] == "the server said: bad password ***" and said["echo"] == ["***"]
    assert "RuntimeError: refused ***" in str(failed["exception"])


def test_masking_follows_the_declaration_not_a_list_of_names(stream: io.StringIO) -> None:
    """Outside the work that holds the secret nothing is masked by its key's name, and
    a token handed out during the work is masked from then on."""
    handed: list[str] = []
    with logs.redacting(lambda: handed):
        logs.get("passeur.worker").info("before", token="tok-123456")
        handed.append("tok-123456")
        logs.get("passeur.worker").info("after", token="tok-123456")
    logs.get("passeur.web").info("a form", password="not-declared-secret")
    before, after, form = events(stream)
    assert before["token"] == "tok-123456" and after["token"] == "***"
    assert form["password"] == "not-declared-secret"


def test_text_format_is_for_a_person() -> None:
    out = io.StringIO()
    logs.configure("text", stream=out)
    try:
        with logs.bound(export_id=5):
            logging.getLogger("passeur.worker").info("try finished")
    finally:
        logging.getLogger().handlers[:] = [
            h for h in logging.getLogger().handlers if not getattr(h, "passeur", False)
        ]
        structlog.reset_defaults()
    line = out.getvalue().strip()
    assert "try finished" in line and "export_id=5" in line and not line.startswith("{")
