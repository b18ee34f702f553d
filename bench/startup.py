"""Start-up: how long `passeur` takes before it does anything, and a worker before it can
claim and after its last delivery.

* startup_help_s: `passeur --help`, wall time of the process (median of the rounds);
* startup_verb_max_s: the slowest of every verb's `passeur <verb> --help` and of quick
  real verbs (`partners list`, `extensions list`, `exports list`) on a small SQLite
  database, each a median;
* startup_import_ms: `python -X importtime`'s cumulative time of `passeur.cli.main` (less
  noisy than the wall time on a shared machine), a median;
* worker_ready_s: `passeur worker` started on PostgreSQL until its LISTEN connection is up
  (it claims from then on; bench/workers.py), a median;
* worker_drain_exit_s: `passeur worker --drain` on PostgreSQL, from its last delivery (the
  receiver's clock) to the process's exit, a median.

    python -m bench.startup [--rounds 5] [--src /work/main/src]

`--src` measures another checkout's code the same way, in the same run (before/after).

Each tree is measured compiled, as an installed passeur is (pip writes the bytecode): its
modules are byte-compiled first, and PYTHONDONTWRITEBYTECODE, if set, is dropped for the
commands measured. Otherwise a tree whose `__pycache__` is missing or stale is measured
compiling its modules from source at every start (about 0.1 s for a worker).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.harness import make_app, postgres_database, save
from bench.http_throughput import http_values
from bench.population import held_exports, release
from bench.servers import http_receiver
from bench.workers import spawn, stop, wait_ready, worker_env
from passeur.connectors.http.signing import new_secret
from passeur.formats.corpus import make_padded_pdf

VERBS = (
    "serve", "worker", "demo", "db", "extensions", "partners", "clients", "users",
    "installations", "integrations", "documents", "exports", "templates", "blobs", "audit",
    "keys", "api-clients", "webhooks",
)  # fmt: skip
QUICK = (("partners", "list"), ("extensions", "list"), ("exports", "list"))
SRC = Path(__file__).resolve().parent.parent / "src"


def _env(src: Path, **extra: str) -> dict[str, str]:
    return _compiled({**os.environ, "PYTHONPATH": str(src), **extra})


def _compiled(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}


def byte_compile(src: Path) -> None:
    """Write the tree's bytecode before it is measured (see the module's docstring)."""
    command = [sys.executable, "-m", "compileall", "-q", str(src)]
    subprocess.run(command, env=_compiled(dict(os.environ)), check=True, stdout=subprocess.DEVNULL)


def _wall(args: list[str], env: dict[str, str], rounds: int) -> float:
    """The median wall time of `python -m passeur ARGS` (it must succeed)."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "passeur", *args], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def import_ms(src: Path, rounds: int) -> float:
    """The median cumulative import time of passeur.cli.main, in ms."""
    samples = []
    for _ in range(rounds):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import passeur.cli.main"],
            env=_env(src), capture_output=True, text=True, check=True,
        ).stderr  # fmt: skip
        found = re.search(r"\|\s*(\d+) \| passeur\.cli\.main$", err, re.MULTILINE)
        if found is None:
            raise RuntimeError("no import time for passeur.cli.main")
        samples.append(int(found.group(1)) / 1000)
    return statistics.median(samples)


def cli_times(src: Path, rounds: int, folder: Path) -> dict[str, float]:
    """Each verb's --help and the quick verbs' wall times, on a small SQLite database."""
    env = _env(src, PASSEUR_DATA_DIR=str(folder))
    subprocess.run([sys.executable, "-m", "passeur", "partners", "create", "Firm"], env=env,
                   check=True, capture_output=True)  # fmt: skip
    times = {"--help": _wall(["--help"], env, rounds)}
    for verb in VERBS:
        times[f"{verb} --help"] = _wall([verb, "--help"], env, rounds)
    for words in QUICK:
        times[" ".join(words)] = _wall(list(words), env, rounds)
    return times


def worker_ready(src: Path, rounds: int, folder: Path) -> float:
    """The median seconds from starting `passeur worker` on PostgreSQL to its LISTEN."""
    samples = []
    with postgres_database() as url:
        app = make_app(folder, url)
        try:
            env = _compiled({**worker_env(app), "PYTHONPATH": str(src)})
            for _ in range(rounds):
                process = spawn(env, 8)
                try:
                    samples.append(wait_ready([process], url))
                finally:
                    stop([process])
        finally:
            app.close()
    return statistics.median(samples)


def drain_exit(src: Path, rounds: int, folder: Path, documents: int = 20) -> float:
    """The median seconds from a draining worker's last delivery to its exit (PostgreSQL)."""
    samples = []
    secret = new_secret()
    payload = make_padded_pdf(30 * 1024)
    for n in range(rounds):
        with postgres_database() as url, http_receiver(folder / f"r{n}", secret) as server:
            app = make_app(folder / f"d{n}", url, allowed_networks="127.0.0.0/8")
            try:
                values = http_values(server, secret, 8)
                held = held_exports(app, "http", values, [payload] * documents)
                release(app, held)
                env = _compiled({**worker_env(app), "PYTHONPATH": str(src)})
                done = subprocess.run(
                    [sys.executable, "-m", "passeur", "worker", "--drain", "--concurrency", "8"],
                    env=env, capture_output=True, check=True,
                )  # fmt: skip
                exited = time.time()
            finally:
                app.close()
            accepted = [json.loads(line) for line in server.journal.read_text().splitlines()]
            times = [e["at"] for e in accepted if "accepted" in e]
            if len(times) != documents:
                raise RuntimeError(f"{len(times)} of {documents} delivered: {done.stderr!r}")
            samples.append(exited - max(times))
    return statistics.median(samples)


def run(rounds: int = 5, src: Path = SRC) -> dict[str, float]:
    byte_compile(src)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        times = cli_times(src, rounds, folder / "cli")
        figures = {
            "startup_help_s": times["--help"],
            "startup_verb_max_s": max(times.values()),
            "startup_import_ms": import_ms(src, rounds),
            "worker_ready_s": worker_ready(src, rounds, folder / "ready"),
            "worker_drain_exit_s": drain_exit(src, rounds, folder / "drain"),
        }
    slowest = max(times, key=lambda k: times[k])
    print(f"start-up ({src}): slowest verb `passeur {slowest}` {times[slowest]:.2f} s")
    for name, seconds in times.items():
        print(f"  passeur {name:<24}{seconds:6.2f} s")
    return figures


def _show(figures: dict[str, float], label: str, say: Callable[[str], None] = print) -> None:
    say(
        f"{label}: --help {figures['startup_help_s']:.2f} s, slowest verb "
        f"{figures['startup_verb_max_s']:.2f} s, import {figures['startup_import_ms']:.0f} ms, "
        f"worker ready {figures['worker_ready_s']:.2f} s, drain exit "
        f"{figures['worker_drain_exit_s']:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--src", type=Path, help="also measure this checkout's src (before)")
    args = parser.parse_args()
    before = run(args.rounds, args.src) if args.src else None
    figures = run(args.rounds)
    if before is not None:
        _show(before, f"before ({args.src})")
    _show(figures, "this tree")
    print("targets: --help and every verb <= 0.3 s; worker ready <= 0.5 s; drain exit <= 0.3 s")
    save("bench", figures)


if __name__ == "__main__":
    main()
