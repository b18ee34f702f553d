"""The exports ledger in pages (keyset by cursor), on SQLite and PostgreSQL: every row
once, whatever is added or changed while someone pages, and an index, not a sort."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text

from passeur.bootstrap import App
from passeur.domain.cursors import Cursor
from passeur.domain.errors import InvalidInput
from passeur.domain.exports import ExportState
from passeur.domain.partners import Access, Role
from passeur.services import exports
from passeur.storage.repositories.exports import ExportFilter, page_query
from tests.factories import person
from tests.web.practice import practice, release, set_export


def pages(app: App, partner_id: int, f: ExportFilter | None = None, **kw: object) -> list[int]:
    """Every export id met following the Older links from the first page."""
    seen: list[int] = []
    cursor = ""
    while True:
        found = exports.page(app, partner_id, f, cursor, size=3, **kw)  # type: ignore[arg-type]
        seen += [r["export"].id for r in found.rows]
        if found.older is None:
            return seen
        cursor = found.older


def test_paging_meets_every_export_once_while_exports_are_added_and_change(
    app: App, shared_data: Path
) -> None:
    p = practice(app, shared_data, n_clients=2)
    for i in range(8):
        release(app, p.partner_id, p.clients[i % 2], shared_data)
    before = [r["export"].id for r in exports.list_exports(app, p.partner_id)]
    assert len(before) == 10

    seen: list[int] = []
    first = exports.page(app, p.partner_id, size=3)
    assert first.newer is None and first.older is not None
    seen += [r["export"].id for r in first.rows]
    cursor = first.older
    while cursor is not None:
        # Meanwhile a document is approved, and a row further down fails (its
        # updated_at moves): neither repeats a row nor skips one.
        release(app, p.partner_id, p.clients[0], shared_data)
        set_export(app, before[-1], state=ExportState.FAILED.value)
        found = exports.page(app, p.partner_id, cursor=cursor, size=3)
        seen += [r["export"].id for r in found.rows]
        cursor = found.older

    assert seen == before, "each export met once, newest first"


def test_newer_pages_lead_back_to_the_newest(app: App, shared_data: Path) -> None:
    p = practice(app, shared_data, n_clients=1)
    for _ in range(6):
        release(app, p.partner_id, p.clients[0], shared_data)
    first = exports.page(app, p.partner_id, size=3)
    assert first.older is not None
    second = exports.page(app, p.partner_id, cursor=first.older, size=3)
    assert second.older is not None and second.newer is not None
    third = exports.page(app, p.partner_id, cursor=second.older, size=3)
    assert len(third.rows) == 1 and third.older is None
    back = exports.page(app, p.partner_id, cursor=third.newer or "", size=3)
    assert [r["export"].id for r in back.rows] == [r["export"].id for r in second.rows]
    top = exports.page(app, p.partner_id, cursor=back.newer or "", size=3)
    assert [r["export"].id for r in top.rows] == [r["export"].id for r in first.rows]
    assert top.newer is None, "the newest page has no newer link"


def test_pages_keep_the_filters_and_the_visitors_reach(app: App, shared_data: Path) -> None:
    p = practice(app, shared_data, n_clients=2)
    for i in range(6):
        release(app, p.partner_id, p.clients[i % 2], shared_data)
    mine = {r["export"].id for r in exports.list_exports(app, p.partner_id)} - set(
        r["export"].id
        for r in exports.list_exports(app, p.partner_id, ExportFilter(client_id=p.clients[1]))
    )
    me = person(
        app, p.partner_id, "ada@firm.be", Role.ACCOUNTANT, assign={p.clients[0]: Access.VIEW}
    )
    assert sorted(pages(app, p.partner_id, actor=me), reverse=True) == sorted(mine, reverse=True)
    by_integration = ExportFilter(integration_id=p.integrations[0])
    assert set(pages(app, p.partner_id, by_integration)) == mine
    set_export(app, max(mine), state=ExportState.FAILED.value)
    failed = ExportFilter(states=(ExportState.FAILED,))
    assert pages(app, p.partner_id, failed) == [max(mine)]


def test_a_cursor_is_opaque_and_checked(app: App, shared_data: Path) -> None:
    p = practice(app, shared_data, n_clients=1)
    token = Cursor(p.exports[0] + 1).token()
    assert str(p.exports[0] + 1) not in token
    assert [r["export"].id for r in exports.page(app, p.partner_id, cursor=token).rows] == [
        p.exports[0]
    ]
    for bad in ["x", "eDEy", "!!", "bi0x", Cursor(1).token() + "A"]:
        with pytest.raises(InvalidInput):
            exports.page(app, p.partner_id, cursor=bad)


@pytest.mark.parametrize(
    "f",
    [
        ExportFilter(),
        ExportFilter(states=(ExportState.FAILED,)),
        ExportFilter(integration_id=2),
        ExportFilter(client_id=2),
    ],
    ids=["all", "state", "integration", "client"],
)
@pytest.mark.parametrize("side", ["first", "older", "newer"])
def test_a_page_is_read_along_an_index_without_a_sort(
    sqlite_app: App, f: ExportFilter, side: str
) -> None:
    """SQLite's plan: the exports are walked in id order through an index and the walk
    stops at the page's end; no full scan, no temporary B-tree sorting the matches."""
    bounds = {"first": {}, "older": {"before_id": 1000}, "newer": {"after_id": 1000}}[side]
    query = page_query(
        1, replace(f, limit=51, **bounds), within=[1, 2] if side == "older" else None
    )
    sql = str(query.compile(sqlite_app.engine, compile_kwargs={"literal_binds": True}))
    with sqlite_app.engine.connect() as conn:
        plan = [row[-1] for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql))]
    [walk] = [
        step for step in plan if step.split()[:2] in (["SEARCH", "exports"], ["SCAN", "exports"])
    ]
    assert walk.startswith("SEARCH exports USING INDEX ix_exports_"), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan
    assert not any(step.startswith("SCAN") for step in plan), plan
