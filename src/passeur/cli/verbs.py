"""The `passeur` group's verbs, each named with its short help and imported when invoked.

`passeur --help` lists every verb without importing one: a verb's module (and the services,
connectors and database libraries behind it) is loaded only when that verb runs, shows its
own help, or is walked. The help given here is the verb's own (a test keeps them equal).
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

import typer.main
from typer.core import TyperCommand, TyperGroup


class Verb(TyperCommand):
    """A named sub-app of `passeur` that stands in for it until it is needed."""

    def __init__(self, name: str, where: str, help: str) -> None:
        super().__init__(name=name, help=help)
        self.where = where  # "module:attribute" of the sub-app's Typer
        self._loaded: Any = None

    def loaded(self) -> Any:
        """The verb's own click group, imported on first use."""
        if self._loaded is None:
            module, attribute = self.where.split(":")
            sub_app = getattr(importlib.import_module(module), attribute)
            self._loaded = typer.main.get_group(sub_app)  # as add_typer makes it
            self._loaded.name = self.name
        return self._loaded

    @property
    def commands(self) -> dict[str, Any]:
        return dict(getattr(self.loaded(), "commands", {}))

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        # The context is the real group's: it parses, shows its help and runs its verbs.
        return self.loaded().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        return self.loaded().invoke(ctx)


class Verbs(TyperGroup):
    """A group whose listed sub-apps (`listed`: name → (module:attribute, help)) come after
    the commands defined in place, in the order given."""

    listed: ClassVar[dict[str, tuple[str, str]]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, (where, help) in self.listed.items():
            self.add_command(Verb(name, where, help), name)
