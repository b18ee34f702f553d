"""The vendored front-end files are the versions package.json pins (`make vendor` copies them)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "src" / "passeur" / "web" / "static" / "vendor"

# npm package → (vendored file, its source inside the package, the licence copied next to it,
# a pattern that finds the version the file announces).
VENDORED = {
    "htmx.org": (
        "htmx.min.js",
        "dist/htmx.min.js",
        "htmx.LICENSE",
        re.compile(r'version:"([^"]+)"'),
    ),
    "@picocss/pico": (
        "pico.min.css",
        "css/pico.min.css",
        "pico.LICENSE.md",
        re.compile(r"Pico CSS \S* ?v(\d+\.\d+\.\d+)"),
    ),
}


def _pinned() -> dict[str, str]:
    dependencies: dict[str, str] = json.loads((ROOT / "package.json").read_text())[
        "devDependencies"
    ]
    return dependencies


def test_every_front_end_package_is_pinned_exactly_and_locked() -> None:
    pinned = _pinned()
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    for name, version in pinned.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} must be pinned exactly: {version}"
        assert locked[f"node_modules/{name}"]["version"] == version, (
            f"package-lock.json disagrees with package.json about {name}: run `npm install`"
        )
    assert set(VENDORED) <= set(pinned)


@pytest.mark.parametrize("package", sorted(VENDORED))
def test_a_vendored_file_announces_the_pinned_version(package: str) -> None:
    filename, _, licence, banner = VENDORED[package]
    found = banner.search((VENDOR / filename).read_text(encoding="utf-8"))
    assert found is not None, f"no version banner in {filename}"
    assert found.group(1) == _pinned()[package], f"{filename} is stale: run `make vendor`"
    assert (VENDOR / licence).is_file(), f"{licence} must sit next to {filename}"


@pytest.mark.parametrize("package", sorted(VENDORED))
def test_a_vendored_file_is_the_one_npm_installed(package: str) -> None:
    filename, source, _, _ = VENDORED[package]
    installed = ROOT / "node_modules" / package / source
    if not installed.is_file():
        pytest.skip("node_modules is absent (`npm ci` installs it)")
    assert (VENDOR / filename).read_bytes() == installed.read_bytes(), (
        f"{filename} differs from node_modules: run `make vendor`"
    )
