"""Running the `passeur` command as an operator would, in a folder of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent  # the virtualenv's bin: where `passeur` is installed


def clean_environment(**settings: str) -> dict[str, str]:
    """The test's environment without any PASSEUR_ setting, plus `settings`; `passeur`
    on the PATH as an activated virtualenv puts it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSEUR_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **settings}


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return self.err.strip().splitlines()


def passeur(
    *args: str, cwd: Path, env: dict[str, str], stdin: str = "", timeout: float = 60
) -> Ran:
    done = subprocess.run(
        ["passeur", *args],
        input=stdin,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,  # no controlling terminal: prompts read stdin
    )
    return Ran(done.returncode, done.stdout, done.stderr)


@dataclass
class Operator:
    """Someone running passeur in one folder with one environment."""

    folder: Path
    env: dict[str, str]

    def run(self, *args: str, stdin: str = "") -> Ran:
        return passeur(*args, cwd=self.folder, env=self.env, stdin=stdin)

    def ok(self, *args: str) -> str:
        """What a command that must succeed printed on stdout."""
        ran = self.run(*args)
        assert ran.code == 0, (args, ran.err)
        return ran.out
