"""Every command and every option of `passeur` says what it is for in --help."""

from __future__ import annotations

from typing import Any

import typer.main
from typer.testing import CliRunner

from passeur.cli.main import app
from passeur.domain.paths import VARIABLES


def _commands(command: Any, path: str = "passeur") -> list[tuple[str, Any]]:
    found = [(path, command)]
    for name, sub in (getattr(command, "commands", None) or {}).items():
        found += _commands(sub, f"{path} {name}")
    return found


def test_every_command_and_option_has_help() -> None:
    missing = []
    walked = _commands(typer.main.get_command(app))
    for path, command in walked:
        if not (command.help or command.short_help):
            missing.append(path)
        for param in command.params:
            if param.param_type_name == "option" and not getattr(param, "help", None):
                missing.append(f"{path} {param.opts[0]}")
    assert len(walked) > 40
    assert missing == []


def test_describe_lists_every_path_variable_with_its_meaning() -> None:
    shown = CliRunner().invoke(app, ["extensions", "describe", "sftp"]).output
    assert "Path variables (in upload_path)" in shown
    for name, meaning in VARIABLES.items():
        assert f"[{name}]" in shown and meaning in shown, name
