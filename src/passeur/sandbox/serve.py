"""A cloud stand-in in a process of its own (the benchmarks keep targets off the measured
process's CPU): `python -m passeur.sandbox.serve dropbox|google_drive|onedrive
--ready-file F` listens on a loopback port it picks, writes that port and a new line to
F once it listens, and serves until it is terminated."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path
from typing import Any

from passeur.sandbox.dropbox_server import DropboxServer
from passeur.sandbox.google_drive_server import GoogleDriveServer
from passeur.sandbox.onedrive_server import OneDriveServer

STAND_INS: dict[str, Any] = {
    "dropbox": DropboxServer,
    "google_drive": GoogleDriveServer,
    "onedrive": OneDriveServer,
}


async def serve(slug: str, client_id: str, ready: Path) -> None:
    server = STAND_INS[slug](client_id=client_id)
    await server.start()
    ready.write_text(json.dumps(server.settings()) + "\n")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("slug", choices=sorted(STAND_INS))
    parser.add_argument("--client-id", default="passeur-bench")
    parser.add_argument("--ready-file", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.slug, args.client_id, args.ready_file))


if __name__ == "__main__":
    main()
