"""Every module of passeur imports: mypy's ignore_missing_imports would hide a first-party
module that a refactoring removed, until the code path that imports it runs."""

from __future__ import annotations

import importlib
import pkgutil

import passeur


def test_every_module_imports() -> None:
    names = [
        m.name
        for m in pkgutil.walk_packages(passeur.__path__, "passeur.")
        if ".migrations." not in m.name and not m.name.endswith("__main__")
    ]
    assert len(names) > 100
    for name in names:
        importlib.import_module(name)
