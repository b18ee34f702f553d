"""A list of ids bound as one value selects exactly those rows, on both databases, and
still through the primary key."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from passeur.bootstrap import App, build
from passeur.services import partners
from passeur.storage import schema
from passeur.storage.db import reading
from passeur.storage.id_lists import id_in
from passeur.storage.tables import partners as partner_rows
from tests.conftest import make_settings

ROWS = select(partner_rows.c.id).order_by(partner_rows.c.id)


def test_ids_bound_as_one_list_select_exactly_those_rows(app: App) -> None:
    ids = [partners.create_partner(app, f"Firm {n}").id for n in range(4)]
    with reading(app.engine) as conn:
        chosen = conn.execute(ROWS.where(id_in(partner_rows.c.id)), {"ids": ids[1:3]})
        assert chosen.scalars().all() == ids[1:3]
        none = conn.execute(ROWS.where(id_in(partner_rows.c.id)), {"ids": []})
        assert none.scalars().all() == []
        others = conn.execute(ROWS.where(~id_in(partner_rows.c.id, "not")), {"not": [ids[0]]})
        assert others.scalars().all() == ids[1:]
        # The same statement with another length of list: one text for all of them.
        assert (
            conn.execute(ROWS.where(id_in(partner_rows.c.id)), {"ids": ids}).scalars().all() == ids
        )


def test_on_sqlite_the_rows_are_found_by_primary_key(tmp_path: Path) -> None:
    """SQLite would scan the table if the condition were typed as a boolean (it would
    compare it with 1); PostgreSQL plans `= ANY(array)` on the index by itself."""
    app = build(make_settings(tmp_path, ""))
    try:
        schema.upgrade(app.engine)
        query = ROWS.where(id_in(partner_rows.c.id)).compile(dialect=app.engine.dialect)
        with reading(app.engine) as conn:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}", ("[1, 2]",)).all()
    finally:
        app.close()
    assert app.engine.dialect.name == "sqlite"
    assert any("PRIMARY KEY" in str(step[-1]) for step in plan), plan
