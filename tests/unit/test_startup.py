"""Start-up stays cheap: `passeur`, a verb, the extensions' declarations and the worker load
no library they do not use yet (the figures are in bench/startup.py; no clock here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import typer.main
from typer.testing import CliRunner

from passeur.cli.main import Passeur, app
from passeur.storage import schema

SRC = Path(__file__).resolve().parents[2] / "src"
# Libraries a command may need, each loaded only by what uses it.
HEAVY = (
    "aiohttp", "aiosmtplib", "alembic", "asyncssh", "cryptography", "fastapi", "fpdf",
    "graphql", "lxml", "prometheus_client", "psycopg", "pydantic_settings", "rich",
    "sqlalchemy", "starlette", "structlog", "uvicorn",
)  # fmt: skip
PROTOCOLS = ("aiohttp", "aiosmtplib", "asyncssh", "fpdf", "graphql", "lxml")


def _loaded_after(code: str, folder: Path) -> list[str]:
    """Which HEAVY libraries a fresh interpreter holds after running `code`."""
    held = f"[m for m in {HEAVY!r} if m in sys.modules]"
    shown = f"import sys, json\n{code}\nprint(json.dumps({held}))"
    env = {**os.environ, "PYTHONPATH": str(SRC), "PASSEUR_DATA_DIR": str(folder)}
    env.pop("PASSEUR_DATABASE_URL", None)
    ran = subprocess.run(
        [sys.executable, "-c", shown], env=env, capture_output=True, text=True, check=True
    )
    return list(json.loads(ran.stdout.strip().splitlines()[-1]))


def test_passeur_starts_without_any_of_the_libraries_its_verbs_use(tmp_path: Path) -> None:
    assert _loaded_after("import passeur.cli.main", tmp_path) == []


def test_a_quick_verb_loads_the_database_library_and_no_other(tmp_path: Path) -> None:
    # The first run creates the database (through Alembic); the second finds it current.
    # No secret is opened: the secret box loads cryptography when one is.
    run = "from passeur.cli.main import app\napp(['partners', 'list'], standalone_mode=False)"
    _loaded_after(run.replace("list", "create', 'Firm"), tmp_path)
    assert _loaded_after(run, tmp_path) == ["sqlalchemy"]
    assert _loaded_after(run.replace("partners", "exports"), tmp_path) == ["sqlalchemy"]


def test_declarations_load_without_the_protocol_libraries_and_a_connector_with_them(
    tmp_path: Path,
) -> None:
    code = (
        "from passeur.connectors import registry\n"
        "assert len(registry.extensions()) > 10\n"
        "import passeur.cli.installations, passeur.cli.extensions\n"
    )
    assert not set(_loaded_after(code, tmp_path)) & set(PROTOCOLS)
    # The worker claims before it delivers: no HTTP, SSH, SMTP or XML library until a
    # connector is made (its e-mail notices make theirs when there is one to mail).
    worker = _loaded_after(code + "import passeur.delivery.worker\n", tmp_path)
    assert not set(worker) & set(PROTOCOLS)
    # Its logs need structlog, which would bring rich (unused) along; its metrics are
    # made at its first try.
    assert "structlog" in worker and "rich" not in worker
    assert "prometheus_client" not in worker
    made = _loaded_after(code + "registry.connector_class('sftp')\n", tmp_path)
    assert "asyncssh" in made


def test_every_listed_verb_shows_its_own_help_and_runs() -> None:
    top = typer.main.get_command(app)
    for name, (_, short) in Passeur.listed.items():
        verb = top.commands[name]  # type: ignore[attr-defined]
        assert verb.loaded().help == short, f"`passeur {name}`'s listed help differs"
    shown = CliRunner().invoke(app, ["--help"]).output
    assert all(name in shown for name in Passeur.listed)
    listed = CliRunner().invoke(app, ["extensions", "list"])
    assert listed.exit_code == 0 and "sftp" in listed.output


def test_the_head_read_from_the_files_is_alembics() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(schema.MIGRATIONS))
    assert schema.declared_head() == ScriptDirectory.from_config(config).get_current_head()


def test_a_chain_the_files_do_not_plainly_say_is_left_to_alembic(tmp_path: Path) -> None:
    def script(name: str, body: str) -> None:
        (tmp_path / f"{name}.py").write_text(f'"""{name}."""\n\n{body}\n')

    script("0001_a", 'revision = "0001"\ndown_revision = None')
    script("0002_b", 'revision = "0002"\ndown_revision = "0001"')
    assert schema.declared_head(tmp_path) == "0002"
    script("0003_c", 'revision = "0003"\ndown_revision = "0001"')  # two heads
    assert schema.declared_head(tmp_path) is None
    script("0003_c", 'revision = "0003"\ndown_revision = ("0001", "0002")')  # a merge
    assert schema.declared_head(tmp_path) is None


def test_a_command_loads_without_the_collector_and_works_with_it(tmp_path: Path) -> None:
    # `passeur` pauses garbage collection while a command loads its libraries; once the
    # app is built, what was loaded is frozen and collection is on for the work itself.
    code = (
        "import gc, sys\n"
        "from passeur.services import partners\n"
        "made = partners.create_partner\n"
        "def spy(*args, **kwargs):\n"
        "    print('on', gc.isenabled(), 'frozen', gc.get_freeze_count() > 0)\n"
        "    return made(*args, **kwargs)\n"
        "partners.create_partner = spy\n"
        "from passeur.cli.main import run\n"
        "sys.argv = ['passeur', 'partners', 'create', 'Firm']\n"
        "run()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC), "PASSEUR_DATA_DIR": str(tmp_path)}
    env.pop("PASSEUR_DATABASE_URL", None)
    ran = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[0] == "on True frozen True"
