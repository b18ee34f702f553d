"""The README's "Using it from a terminal" walkthrough, run exactly as it is printed.

The commands are read from the README's code block, so the README cannot drift from what
passeur does. They run in an empty folder with no PASSEUR_ setting (the data lands in
`var` there, as the README says), `passeur` found on the PATH as an activated virtualenv
puts it. Two things the README says it leaves to the reader are supplied: the name
`sftp.example.be` (port 22) is pointed at a real SFTP server on loopback, and `SHA256:…`
is replaced by the fingerprint the command before it printed.

The transcript (each command and what it printed) is written to
var/test-artifacts/readme-walkthrough.txt and printed with `pytest -s`.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from passeur.sandbox.sftp_server import SftpSandbox, ThreadedSftpSandbox
from tests.acceptance.terminal import clean_environment

# Many passeur processes one after the other: slow on a loaded machine, never stuck.
pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TRANSCRIPT = ROOT / "var" / "test-artifacts" / "readme-walkthrough.txt"
HOST, USER, PASSWORD = "sftp.example.be", "firm", "walkthrough-sftp-password"
WEB_PASSWORD = "correct horse battery staple"
# The files the walkthrough uploads, from the public samples.
FILES = {
    "invoice.xml": "ubl/peppol-base-example.xml",
    "sales-invoice.xml": "ubl/peppol-vat-category-Z.xml",
    "credit-note.xml": "ubl/peppol-base-creditnote-correction.xml",
    "statement.cod": "coda/pycoda-Coda_v2_3_globalisation.txt",
}
# Loaded by every Python process of the walkthrough (PYTHONPATH): the README's host name
# resolves to the loopback SFTP server. Nothing else in passeur is changed.
_RESOLVER = """
import os, socket
_resolve = socket.getaddrinfo
_port = int(os.environ["WALKTHROUGH_SFTP_PORT"])
def getaddrinfo(host, port, *args, **kwargs):
    if host == "sftp.example.be":
        host, port = "127.0.0.1", _port if str(port) == "22" else port
    return _resolve(host, port, *args, **kwargs)
socket.getaddrinfo = getaddrinfo
"""


def walkthrough() -> list[str]:
    """The command lines of the README's terminal section, continuations joined."""
    section = README.read_text().split("## Using it from a terminal", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the README's terminal section has its code block"
    joined = re.sub(r"\\\n\s*", " ", block.group(1))
    return [line.strip() for line in joined.splitlines() if line.strip()]


@pytest.fixture
def sftp(tmp_path: Path) -> Iterator[SftpSandbox]:
    runner = ThreadedSftpSandbox(SftpSandbox(tmp_path / "sftp", passwords={USER: PASSWORD}))
    yield runner.start()
    runner.stop()


def test_the_readme_walkthrough_runs_as_printed(
    tmp_path: Path, sftp: SftpSandbox, shared_data: Path
) -> None:
    office = tmp_path / "office"
    office.mkdir()
    for name, sample in FILES.items():
        (office / name).write_bytes((shared_data / sample).read_bytes())
    resolver = tmp_path / "resolver"
    resolver.mkdir()
    (resolver / "sitecustomize.py").write_text(_RESOLVER)
    env = clean_environment(
        PYTHONPATH=str(resolver),
        PYTHONUNBUFFERED="1",
        WALKTHROUGH_SFTP_PORT=str(sftp.port),
        PASSEUR_WEB_PORT="0",  # `passeur serve` takes any free port; the line says which
    )
    transcript: list[str] = []
    outputs: dict[str, str] = {}
    fingerprint = ""
    lines = walkthrough()
    assert lines[0].startswith("passeur db upgrade") and lines[-1].startswith("passeur serve")
    for line in lines:
        argv = [a.replace("SHA256:…", fingerprint) for a in shlex.split(line, comments=True)]
        assert argv[0] == "passeur", line
        if argv[1] == "serve":
            code, out = _serve(argv, office, env)
        else:
            stdin = PASSWORD if "password=-" in line else ""
            if argv[1:3] == ["users", "set-password"]:
                stdin = f"{WEB_PASSWORD}\n{WEB_PASSWORD}\n"
            done = subprocess.run(
                argv, cwd=office, env=env, input=stdin, capture_output=True, text=True,
                timeout=120, start_new_session=True,  # no terminal: prompts read stdin
            )  # fmt: skip
            code, out = done.returncode, done.stdout + done.stderr
        shown = line.replace("SHA256:…", fingerprint)
        transcript += [f"$ {shown}", *out.rstrip("\n").splitlines(), ""]
        outputs[line] = out
        _write(transcript)
        expected = re.search(r"# .*\bexit (\d)", line)  # the README says when it is not 0
        assert code == (int(expected.group(1)) if expected else 0), f"{line}\n{out}"
        assert "Traceback" not in out, line
        found = re.search(r"SHA256:[A-Za-z0-9+/]{43}", out)
        fingerprint = found.group(0) if found and not fingerprint else fingerprint
    print("\n".join(transcript))
    print(f"(transcript in {TRANSCRIPT})")

    said = "\n".join(outputs.values())
    assert sftp.fingerprint == fingerprint and f"host key {fingerprint} pinned" in said
    assert "4 delivered, 0 failed tries; no export waiting" in said  # the worker's last line
    landed = sorted(p.relative_to(sftp.root / USER) for p in (sftp.root / USER).rglob("*.*"))
    folders = {str(p.parent) for p in landed}
    assert {f for f in folders if f.startswith("in/0403170701/")} == folders
    assert {p.parts[2] for p in landed} == {"purchases", "sales", "cod"}
    assert len(landed) == 4 and (office / "var" / "passeur.db").exists()


def _serve(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Start `passeur serve`, open the sign-in page at the address it printed, then stop
    it as Ctrl-C would."""
    server = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert server.stdout is not None
    out = []
    try:
        for line in server.stdout:  # ends when the server exits (a failure)
            out.append(line)
            found = re.search(r"partner space on (http://\S+/)", line)
            if found:
                with urllib.request.urlopen(found.group(1) + "signin", timeout=30) as page:
                    assert page.status == 200 and b'type="password"' in page.read()
                break
    finally:
        server.send_signal(signal.SIGINT)
        rest, _ = server.communicate(timeout=60)
    stopped = server.returncode == 130  # 128 + SIGINT: stopped by Ctrl-C, as the README says
    return (0 if stopped else server.returncode), "".join(out) + rest


def _write(transcript: list[str]) -> None:
    TRANSCRIPT.parent.mkdir(parents=True, exist_ok=True)
    TRANSCRIPT.write_text("\n".join(transcript) + "\n")
