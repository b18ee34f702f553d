"""The same migrations run on SQLite and PostgreSQL, up and down, and match the tables."""

from __future__ import annotations

import json
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from passeur.storage import schema
from passeur.storage.db import make_engine
from passeur.storage.tables import metadata


def test_upgrade_downgrade_and_no_drift(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    try:
        if engine.dialect.name == "postgresql":
            schema.downgrade(engine, "base")  # the template comes migrated
        assert "exports" not in inspect(engine).get_table_names()
        schema.upgrade(engine)
        assert schema.current_revision(engine) == schema.head_revision(engine)
        with engine.connect() as conn:
            drift = compare_metadata(MigrationContext.configure(conn), metadata)
        assert drift == [], f"tables.py and the migrations differ: {drift}"
        schema.downgrade(engine, "0001")
        assert "pacing" not in inspect(engine).get_table_names()
        schema.upgrade(engine)
        assert "pacing" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def old_database(
    tmp_path: Path, revision: str, installations: list[tuple[int, str, str]]
) -> Engine:
    """A SQLite database at `revision` with one partner and these (id, extension, config
    JSON) installations."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    schema.upgrade(engine, revision)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO partners (id, name, created_at) VALUES (1, 'F', '2026-01-01')")
        )
        for row, extension, config in installations:
            conn.execute(
                text(
                    "INSERT INTO installations (id, partner_id, extension, name, config, "
                    "secrets, active, created_at, updated_at) VALUES (:id, 1, :ext, 'x', "
                    ":config, '', 1, '2026-01-01', '2026-01-01')"
                ),
                {"id": row, "ext": extension, "config": config},
            )
    return engine


def test_existing_installations_get_a_pacing_row_when_migrated(tmp_path: Path) -> None:
    engine = old_database(tmp_path, "0001", [(7, "sftp", "{}")])
    schema.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT installation_id FROM pacing")).scalars().all() == [7]
    engine.dispose()


def test_users_and_their_assignments_survive_the_business_users_migration(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        if engine.dialect.name == "postgresql":
            schema.downgrade(engine, "base")  # the template comes migrated
        schema.upgrade(engine, "0003")
        with engine.begin() as conn:
            for statement in [
                "INSERT INTO partners (id, name, created_at) VALUES (1, 'F', '2026-01-01')",
                "INSERT INTO clients (id, partner_id, name, status, created_at, updated_at) "
                "VALUES (3, 1, 'C', 'active', '2026-01-01', '2026-01-01')",
                "INSERT INTO users (id, partner_id, email, name, roles, created_at) "
                "VALUES (5, 1, 'a@f.be', 'A', 'accountant', '2026-01-01')",
                "INSERT INTO assignments (user_id, client_id, access) VALUES (5, 3, 'edit')",
            ]:
                conn.execute(text(statement))
        schema.upgrade(engine)
        with engine.begin() as conn:
            assert conn.execute(text("SELECT user_id, client_id FROM assignments")).all() == [
                (5, 3)
            ]
            conn.execute(
                text(
                    "INSERT INTO users (id, partner_id, email, name, roles, created_at) "
                    "VALUES (6, 1, 'b@c.be', 'B', 'business', '2026-01-01')"
                )
            )
            conn.execute(text("INSERT INTO business_users (user_id, client_id) VALUES (6, 3)"))
        schema.downgrade(engine, "0003")
        assert "business_users" not in inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM assignments")).scalar_one() == 1
    finally:
        engine.dispose()


def test_http_installations_that_never_chose_a_payload_keep_multipart(tmp_path: Path) -> None:
    engine = old_database(
        tmp_path,
        "0009",
        [
            (1, "http", '{"base_url": "https://erp.example.com"}'),
            (2, "http", '{"payload": "raw"}'),
            (3, "sftp", "{}"),
        ],
    )
    schema.upgrade(engine)
    with engine.connect() as conn:
        found = conn.execute(text("SELECT id, config FROM installations ORDER BY id")).all()
    engine.dispose()
    assert [json.loads(config) for _, config in found] == [
        {"base_url": "https://erp.example.com", "payload": "multipart"},
        {"payload": "raw"},
        {},
    ]
