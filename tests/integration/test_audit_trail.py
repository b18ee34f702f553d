"""The audit trail, on SQLite and PostgreSQL: each change recorded in its own transaction
with who, from where, before and after (secrets masked); a tampered table is caught by
`passeur audit verify`, naming the row; concurrent changes never fork a chain."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from passeur.bootstrap import App, build
from passeur.cli.main import app as cli
from passeur.connectors.http.signing import new_secret
from passeur.domain.access import OPERATOR, Actor
from passeur.domain.audit import CHANGED_SECRET
from passeur.domain.errors import Forbidden, InvalidInput
from passeur.domain.partners import Access, ClientStatus, Role
from passeur.services import actors, audit, clients, installations, integrations, partners
from passeur.storage import schema
from passeur.storage.db import transaction
from passeur.storage.repositories import audit as audit_rows
from tests.conftest import make_settings


def _firm(app: App) -> tuple[int, Actor, int, int, int]:
    """A firm with an administrator acting from a browser at 192.0.2.7, an HTTP
    installation, a client and its integration."""
    pid = partners.create_partner(app, "Fiduciaire Audit").id
    admin = partners.add_user(app, pid, "admin@audit.be", "Ann", {Role.ADMINISTRATOR})
    actor = replace(actors.for_user(app, admin.id), origin="192.0.2.7")
    values = {"base_url": "https://in.example", "signing_secret": new_secret()}
    inst = installations.install(app, pid, "http", "Endpoint", values, actor=actor)
    client = clients.create_client(
        app, pid, "Bakkerij", uen_number="0403170701", status=ClientStatus.ACTIVE, actor=actor
    )
    integration = integrations.add(app, pid, client.id, inst.id, {}, actor=actor)
    return pid, actor, inst.id, client.id, integration.id


def _all_text(engine: Engine) -> str:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_events ORDER BY seq")).all()
    return repr(rows)


def test_changes_are_recorded_with_who_where_what_and_secrets_masked(app: App) -> None:
    pid, actor, inst_id, client_id, integration_id = _firm(app)
    secret = new_secret()
    installations.update(app, pid, inst_id, {"signing_secret": secret}, actor=actor)
    integrations.pause(app, pid, integration_id, actor=actor)
    partners.assign(app, pid, actor.user_id or 0, client_id, Access.VIEW)  # the CLI: operator

    events = audit.of_partner(app, pid).events
    assert [e.action for e in reversed(events)] == [
        "user.create", "installation.create", "client.create", "integration.create",
        "installation.update", "integration.pause", "assignment.set",
    ]  # fmt: skip
    update = next(e for e in events if e.action == "installation.update")
    assert (update.actor, update.origin) == ("user admin@audit.be", "192.0.2.7")
    assert json.loads(update.after)["values"]["signing_secret"] == CHANGED_SECRET
    assert json.loads(update.before)["values"]["base_url"] == "https://in.example"
    assert (events[0].actor, events[0].origin) == ("the operator", "cli")
    assert secret not in _all_text(app.engine)  # nor any part of it, anywhere in the table
    assert secret.split("_", 1)[-1][:12] not in _all_text(app.engine)

    # Per client and per integration, newest first.
    of_client = [e.action for e in audit.of_client(app, pid, client_id).events]
    assert of_client == [
        "assignment.set",
        "integration.pause",
        "integration.create",
        "client.create",
    ]
    of_integration = audit.of_integration(app, pid, integration_id).events
    assert [e.action for e in of_integration] == ["integration.pause", "integration.create"]
    lines = list(audit.csv_lines(app, pid, integration_id=integration_id))
    assert lines[0].startswith("seq,at,actor,origin,action") and len(lines) == 3
    assert audit.verify(app, pid) == []


def test_a_refused_change_records_nothing_and_a_failed_record_undoes_the_change(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = sqlite_app
    pid, actor, inst_id, _client_id, _integration_id = _firm(app)
    before = audit.of_partner(app, pid).events
    with pytest.raises(InvalidInput):
        installations.update(app, pid, inst_id, {"base_url": "not a url"}, actor=actor)
    assert audit.of_partner(app, pid).events == before

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the trail is unavailable")

    monkeypatch.setattr(audit_rows, "append", broken)
    with pytest.raises(RuntimeError):
        installations.update(app, pid, inst_id, {}, name="Renamed", actor=actor)
    assert installations.get(app, pid, inst_id).name == "Endpoint"  # same transaction


def test_only_administrators_read_the_trail(sqlite_app: App) -> None:
    app = sqlite_app
    pid, _actor, _inst_id, client_id, _ = _firm(app)
    user = partners.add_user(app, pid, "acc@audit.be", "Acc", {Role.ACCOUNTANT})
    partners.assign(app, pid, user.id, client_id, Access.EDIT)
    accountant = actors.for_user(app, user.id)
    with pytest.raises(Forbidden):
        audit.of_client(app, pid, client_id, actor=accountant)


def test_csv_cells_cannot_become_spreadsheet_formulas(sqlite_app: App) -> None:
    app = sqlite_app
    pid = partners.create_partner(app, "Firm").id
    # A proxy could put anything in the address a request came from.
    actor = replace(OPERATOR, origin="=1+2")
    partners.add_user(app, pid, "x@y.be", "Someone", {Role.ACCOUNTANT}, actor=actor)
    body = "".join(audit.csv_lines(app, pid))
    assert ",'=1+2," in body and ",=1+2," not in body


def _tamper(engine: Engine, statement: str) -> None:
    """Change the table behind passeur's back, as someone with database access could:
    past the append-only triggers."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        for part in statement.split(";"):
            conn.execute(text(part))


def _verify(app: App, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    for name, value in app.settings.as_environment().items():
        monkeypatch.setenv(name, value)
    ran = CliRunner().invoke(cli, ["audit", "verify"])
    return ran.exit_code, ran.output


def test_the_database_refuses_to_change_or_delete_an_event(app: App) -> None:
    _firm(app)
    for statement in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"), app.engine.begin() as conn:
            conn.execute(text(statement))


def test_verify_names_an_edited_row(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    pid, *_ = _firm(app)
    assert _verify(app, monkeypatch) == (0, "audit trail intact: 4 event(s) checked\n")
    target = next(e for e in audit.of_partner(app, pid).events if e.seq == 3)
    _tamper(app.engine, f"UPDATE audit_events SET origin = '10.0.0.1' WHERE id = {target.id}")
    code, output = _verify(app, monkeypatch)
    assert code == 1
    assert f"audit event {target.id} (seq 3): its content does not match its hash" in output


@pytest.mark.parametrize("how", ["delete", "reorder", "cut"])
def test_verify_names_a_deleted_or_reordered_row(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    app = sqlite_app
    pid, *_ = _firm(app)
    ids = [e.id for e in reversed(audit.of_partner(app, pid).events)]  # seq 1..4
    statement = {
        "delete": f"DELETE FROM audit_events WHERE id = {ids[1]}",
        # Two rows swap places (through negative seqs: each must stay unique).
        "reorder": f"UPDATE audit_events SET seq = -seq WHERE id IN ({ids[1]}, {ids[2]});"
        f"UPDATE audit_events SET seq = 5 + seq WHERE id IN ({ids[1]}, {ids[2]})",
        "cut": f"DELETE FROM audit_events WHERE id = {ids[3]}",
    }[how]
    _tamper(app.engine, statement)
    code, output = _verify(app, monkeypatch)
    assert code == 1, output
    named = {
        "delete": f"audit event {ids[2]} (seq 3)",
        "reorder": f"audit event {ids[2]} (seq 2)",
        "cut": "the chain ends at seq 3 but its head says 4",
    }[how]
    assert named in output


def test_concurrent_changes_of_one_firm_form_one_chain(tmp_path: Path, postgres_url: str) -> None:
    app = build(make_settings(tmp_path / "data", postgres_url))
    try:
        pid = partners.create_partner(app, "Busy firm").id
        made = [clients.create_client(app, pid, f"Client {i}", uen_number="").id for i in range(6)]
        errors: list[BaseException] = []
        start = threading.Barrier(len(made))

        def edit(client_id: int) -> None:
            try:
                start.wait()
                for n in range(5):
                    clients.update_client(app, pid, client_id, f"Client {client_id} v{n}")
            except BaseException as exc:  # reported below
                errors.append(exc)

        writing = threading.Event()
        writing.set()
        seen: list[list[object]] = []

        def check_meanwhile() -> None:  # a verify during appends sees one consistent moment
            while writing.is_set():
                seen.append(list(audit.verify(app, pid)))

        threads = [threading.Thread(target=edit, args=(c,)) for c in made]
        checker = threading.Thread(target=check_meanwhile)
        checker.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        writing.clear()
        checker.join()
        assert errors == []
        assert seen and all(problems == [] for problems in seen)
        with transaction(app.engine) as conn:
            seqs = [e.seq for e in audit_rows.chain(conn, pid)]
        assert seqs == list(range(1, 6 + 6 * 5 + 1))
        assert audit.verify(app, pid) == []
    finally:
        app.close()


def test_an_upgraded_database_starts_its_chains_empty(tmp_path: Path) -> None:
    app = build(make_settings(tmp_path / "data", f"sqlite:///{tmp_path / 'p.db'}"))
    try:
        schema.upgrade(app.engine)
        assert audit.verify_all(app) == (0, [])
    finally:
        app.close()
