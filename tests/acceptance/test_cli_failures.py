"""Every verb's expected failures: one line on stderr, never a traceback, and the exit code
the README and `passeur --help` document (2 refused, 3 the target, 4 the database)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main

from passeur.cli.main import app
from passeur.storage.secret_box import new_key
from tests.acceptance.terminal import clean_environment, passeur

UNREACHABLE = {"PASSEUR_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/passeur"}

# (verb, arguments, exit code, what the line says, settings for this case)
CASES: list[tuple[str, list[str], int, str, dict[str, str]]] = [
    ("db upgrade", [], 4, "cannot use the database", UNREACHABLE),
    ("serve", ["--port", "{taken}"], 2, "PASSEUR_WEB_PORT", {}),
    ("serve", ["--host", "192.0.2.1", "--port", "0"], 2, "PASSEUR_WEB_HOST", {}),
    ("worker", ["--drain"], 4, "cannot use the database", UNREACHABLE),
    ("worker", ["--concurrency", "0"], 2, "--concurrency", {}),
    ("demo", ["--dir", "demo", "--port", "{taken}"], 2, "PASSEUR_WEB_PORT", {}),
    ("extensions list", ["extra"], 2, "unexpected extra argument", {}),
    ("extensions describe", ["ftp"], 2, "no extension 'ftp'", {}),
    ("extensions docs", ["--dir", "nowhere"], 1, "passeur extensions docs --write", {}),
    ("partners create", [" "], 2, "needs a name", {}),
    ("partners list", [], 4, "cannot use the database", UNREACHABLE),
    ("clients create", ["X", "--uen", "0403170702"], 2, "not a valid", {}),
    ("clients list", ["--partner", "9"], 2, "partner 9 does not exist", {}),
    ("clients status", ["9", "active"], 2, "client 9 does not exist", {}),
    ("users add", ["a@b.be", "--role", "business"], 2, "belongs to one client", {}),
    ("users list", ["--partner", "9"], 2, "partner 9 does not exist", {}),
    ("users assign", ["9", "1"], 2, "user 9 does not exist", {}),
    ("users unassign", ["9", "1"], 2, "user 9 does not exist", {}),
    ("users set-password", ["nobody@firm.be", "--stdin"], 2, "", {}),
    ("installations create", ["ftp"], 2, "no extension 'ftp'", {}),
    ("installations update", ["9"], 2, "installation 9 does not exist", {}),
    ("installations list", ["--partner", "9"], 2, "partner 9 does not exist", {}),
    ("installations show", ["9"], 2, "installation 9 does not exist", {}),
    ("installations check", ["1"], 3, "cannot reach", {}),  # the target refuses
    ("installations connect", ["9", "--timeout", "1"], 2, "installation 9 does not exist", {}),
    ("installations activate", ["9"], 2, "installation 9 does not exist", {}),
    ("installations deactivate", ["9"], 2, "installation 9 does not exist", {}),
    ("integrations add", ["1", "9"], 2, "installation 9 does not exist", {}),
    ("integrations update", ["9"], 2, "integration 9 does not exist", {}),
    ("integrations list", ["--client", "9"], 2, "client 9 does not exist", {}),
    ("integrations pause", ["9"], 2, "integration 9 does not exist", {}),
    ("integrations resume", ["9"], 2, "integration 9 does not exist", {}),
    ("documents upload", ["1", "notes.txt"], 2, "not a document we accept", {}),  # intake
    ("documents upload", ["1", "missing.xml"], 2, "does not exist", {}),
    ("documents approve", ["9"], 2, "document 9 does not exist", {}),
    ("documents send", ["9"], 2, "document 9 does not exist", {}),
    ("documents mark-processed", ["9"], 2, "document 9 does not exist", {}),
    ("documents resend", ["9"], 2, "document 9 does not exist", {}),
    ("documents mark-reviewed", ["9"], 2, "document 9 does not exist", {}),
    ("db backup", ["notes.txt"], 2, "already exists", {}),
    ("blobs migrate", ["--to", "ftp://x/y"], 2, "s3://bucket/prefix", {}),
    ("documents list", ["--client", "9"], 2, "client 9 does not exist", {}),
    ("documents inspect", ["notes.txt"], 1, "1 of 1 file(s) would be refused", {}),
    ("exports list", ["--client", "9"], 2, "client 9 does not exist", {}),
    ("exports show", ["9"], 2, "export 9 does not exist", {}),
    ("exports retry", ["9"], 2, "export 9 does not exist", {}),
    ("exports retry", ["x"], 2, "should be a valid integer", {}),
    ("templates list", ["--partner", "9"], 2, "partner 9 does not exist", {}),
    ("templates create", ["T", "--user", "9=edit"], 2, "user 9", {}),
    ("templates set-integration", ["9", "--installation", "1"], 2, "template 9", {}),
    ("templates remove-integration", ["9", "--installation", "1"], 2, "template 9", {}),
    ("templates default", ["9"], 2, "template 9", {}),
    ("templates delete", ["9"], 2, "template 9", {}),
    ("templates apply", ["9", "--client", "1"], 2, "template 9", {}),
    ("webhooks add", ["https://erp.example/h", "--event", "x.y"], 2, "unknown event type", {}),
    ("webhooks list", ["--partner", "9"], 2, "partner 9 does not exist", {}),
    ("webhooks remove", ["9"], 2, "webhook subscription 9 does not exist", {}),
    ("webhooks test", ["9"], 2, "webhook subscription 9 does not exist", {}),
    ("clients import", ["missing.csv"], 2, "does not exist", {}),
    ("integrations import", ["notes.txt", "--installation", "9"], 2, "installation 9", {}),
    (
        "integrations backfill",
        ["9", "--since", "2026-01-01", "--until", "2026-02-01"],
        2,
        "integration 9 does not exist",
        {},
    ),
    ("audit list", ["--partner", "9"], 2, "partner 9 does not exist", {}),
    ("audit export", ["--client", "9"], 2, "client 9 does not exist", {}),
    ("audit verify", [], 4, "cannot use the database", UNREACHABLE),
    ("keys rotate", [], 4, "cannot use the database", UNREACHABLE),
    ("api-clients create", ["App", "--scope", "nonsense"], 2, "unknown scope 'nonsense'", {}),
    ("api-clients list", ["--partner", "9"], 2, "partner 9 does not exist", {}),
    ("api-clients revoke", ["9"], 2, "API client 9 does not exist", {}),
    ("api-clients token", ["9", "--name", "x"], 2, "API client 9 does not exist", {}),
    ("api-clients tokens", ["9"], 2, "API client 9 does not exist", {}),
    ("api-clients revoke-token", ["9", "abc"], 2, "API client 9 does not exist", {}),
    # A keyring that lost the key the installation's password was sealed with.
    ("keys check", [], 1, "no configured key opens", {"PASSEUR_SECRET_KEYS": new_key()}),
]


def _verbs(command: Any, path: str = "") -> set[str]:
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        return {path}
    return set().union(*(_verbs(c, f"{path} {n}".strip()) for n, c in subcommands.items()))


def test_every_verb_has_its_expected_failures_listed() -> None:
    assert _verbs(typer.main.get_command(app)) == {verb for verb, *_ in CASES}


@dataclass(frozen=True)
class Firm:
    """A firm with a client and an SFTP installation, in a folder of its own."""

    folder: Path
    env: dict[str, str]
    taken_port: str  # a port something already listens on


@pytest.fixture(scope="module")
def firm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Firm]:
    folder = tmp_path_factory.mktemp("cli-failures")
    env = clean_environment(PASSEUR_SECRET_KEYS=new_key())
    (folder / "notes.txt").write_text("not an invoice\n")
    for setup in (
        ["partners", "create", "Firm"],
        ["clients", "create", "Bakkerij", "--status", "active"],
        ["installations", "create", "sftp", "--set", "host=127.0.0.1", "--set", "port=1",
         "--set", "username=firm", "--set", "password=secret", "--set", "host_key=" + _KEY],
    ):  # fmt: skip
        assert passeur(*setup, cwd=folder, env=env).code == 0, setup
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        yield Firm(folder, env, str(taken.getsockname()[1]))
    assert not (folder / "demo").exists()  # `demo` refused before it made anything


# One test a case, so that the suite's processes share the cases (each one starts
# passeur, and all of them one after the other took a minute).
@pytest.mark.parametrize(
    ("verb", "args", "code", "says", "settings"),
    CASES,
    ids=[f"{verb} {' '.join(args)}".strip() for verb, args, *_ in CASES],
)
def test_every_expected_failure_is_one_line_and_its_exit_code(
    firm: Firm, verb: str, args: list[str], code: int, says: str, settings: dict[str, str]
) -> None:
    argv = [*verb.split(), *(firm.taken_port if a == "{taken}" else a for a in args)]
    ran = passeur(*argv, cwd=firm.folder, env={**firm.env, **settings})
    assert ran.code == code, (argv, ran.code, ran.out, ran.err)
    assert len(ran.error_lines) == 1, (argv, ran.err)
    assert ran.error_lines[0].startswith("error: ") and says in ran.error_lines[0], argv
    assert "Traceback" not in ran.out + ran.err, argv


# A pinned host key, so that `check` goes on to connect (and finds nothing listening).
_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
