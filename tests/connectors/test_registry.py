"""The registry as a whole: every extension comes with its contract suite, its stand-in and
its generated reference page; a slug is declared once."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import tests.connectors
from passeur import docs
from passeur.connectors import registry
from passeur.connectors.sftp import SftpConnector
from tests.connectors.contract import ConnectorContract

SLUGS = sorted(registry.extensions())


def contract_suites() -> dict[str, list[type[ConnectorContract]]]:
    """The subclasses of the contract suite in tests/connectors, by the slug each names."""
    for module in pkgutil.iter_modules(tests.connectors.__path__):
        if module.name.startswith("test_"):
            importlib.import_module(f"{tests.connectors.__name__}.{module.name}")
    found: dict[str, list[type[ConnectorContract]]] = {}
    waiting = list(ConnectorContract.__subclasses__())
    while waiting:
        suite = waiting.pop()
        waiting += suite.__subclasses__()
        if "slug" in vars(suite):  # a base that several suites share names none
            found.setdefault(suite.slug, []).append(suite)
    return found


@pytest.mark.parametrize("slug", SLUGS)
def test_every_extension_passes_the_contract_suite(slug: str) -> None:
    suites = contract_suites()
    assert slug in suites, (
        f"no subclass of ConnectorContract in tests/connectors names slug = {slug!r}"
    )
    assert len(suites[slug]) == 1, f"several contract suites name {slug!r}: {suites[slug]}"


def test_every_contract_suite_names_a_registered_extension() -> None:
    unknown = {slug: s for slug, s in contract_suites().items() if slug not in SLUGS}
    assert not unknown, f"contract suites for no registered extension: {unknown}"


@pytest.mark.parametrize("slug", SLUGS)
def test_every_extension_declares_its_stand_in(slug: str) -> None:
    stand_in = registry.extension(slug).stand_in
    assert stand_in.startswith("passeur.sandbox."), (
        f"{slug} declares no stand-in under passeur.sandbox (Extension.stand_in)"
    )
    importlib.import_module(stand_in)


@pytest.mark.parametrize("slug", SLUGS)
def test_every_extension_has_its_generated_page(slug: str) -> None:
    page = docs.FOLDER / f"{slug}.md"
    assert page.is_file(), f"{page} is missing: run `python -m passeur.docs`"
    assert page.read_text(encoding="utf-8") == docs.render(registry.connector_class(slug)), (
        f"{page} is stale: run `python -m passeur.docs`"
    )


def test_the_committed_pages_are_those_the_declarations_render() -> None:
    assert docs.stale() == [], "stale pages: run `python -m passeur.docs`"


def test_a_stale_a_missing_and_an_orphan_page_are_found_then_rewritten(tmp_path: Path) -> None:
    assert docs.write(tmp_path) == sorted(docs.pages())
    assert docs.stale(tmp_path) == []
    (tmp_path / "http.md").write_text("edited by hand\n", encoding="utf-8")
    (tmp_path / "sftp.md").unlink()
    (tmp_path / "gone.md").write_text("an extension that was removed\n", encoding="utf-8")
    assert docs.stale(tmp_path) == ["gone.md", "http.md", "sftp.md"]
    docs.write(tmp_path)
    assert docs.stale(tmp_path) == [] and not (tmp_path / "gone.md").exists()


def test_a_slug_declared_twice_is_refused() -> None:
    class Twin(SftpConnector):
        pass

    with pytest.raises(ValueError, match="extension slug 'sftp' is declared twice"):
        registry.by_slug((SftpConnector, registry.connector_class("http"), Twin))
