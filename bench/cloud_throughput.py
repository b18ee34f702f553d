"""cloud_throughput_ratio_<provider>: 1,000 documents of about 30 KB approved and delivered
by passeur (one worker in this process, SQLite) to each cloud stand-in (Dropbox, Google
Drive, OneDrive; each in its own process), against a bare aiohttp client making the same
API calls with the same concurrency, in the same run (Dropbox: one `files/upload`; Google
Drive: a lookup by name, then a multipart upload; OneDrive: one `PUT …:/content`).

    python -m bench.cloud_throughput [--documents 1000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp

from bench import clouds
from bench.harness import make_app, save
from bench.http_throughput import in_process_rate
from bench.population import held_exports
from bench.servers import cloud_stand_in
from passeur.connectors import oauth, registry
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Outbound
from passeur.domain.network import NetworkPolicy
from passeur.formats.corpus import make_padded_pdf
from passeur.services import installations

SIZE = 30 * 1024
Send = Callable[[aiohttp.ClientSession, int], Awaitable[None]]


async def bare_token(settings: dict[str, str], slug: str) -> str:
    """An access token, signed in the way any client signs in (not timed)."""
    http = Outbound(Guard(NetworkPolicy.parse("127.0.0.0/8")))
    try:
        verifier, challenge = oauth.pkce_pair()
        redirect = "http://127.0.0.1:9/callback"
        spec = registry.extension(slug).oauth
        assert spec is not None
        query = {
            "response_type": "code", "client_id": settings[f"{slug}_client_id"],
            "redirect_uri": redirect, "state": "bench", "code_challenge": challenge,
            "code_challenge_method": "S256", "scope": spec.scope, **dict(spec.authorize_params),
        }  # fmt: skip
        answer = await http.request(
            "GET", f"{settings[f'{slug}_authorize_url']}?{urlencode(query)}"
        )
        code = answer.headers["location"].split("code=")[1].split("&")[0]
        client = oauth.OAuthClient(settings[f"{slug}_token_url"], settings[f"{slug}_client_id"])
        grant = await oauth.exchange_code(http, client, code, redirect, verifier)
        return grant.access_token
    finally:
        await http.close()


def bare_sender(slug: str, settings: dict[str, str], token: str, prefix: str) -> Send:
    """One document sent the way a minimal hand-written client would."""
    auth = {"Authorization": f"Bearer {token}"}
    if slug == "dropbox":

        async def dropbox(session: aiohttp.ClientSession, n: int) -> None:
            arg = json.dumps({"path": f"/bare/{prefix}/f{n}.pdf", "mode": "add"})
            headers = {**auth, "Dropbox-API-Arg": arg, "Content-Type": "application/octet-stream"}
            url = f"{settings['dropbox_content_url']}/2/files/upload"
            async with session.post(url, data=PAYLOADS[n], headers=headers) as answer:
                answer.raise_for_status()

        return dropbox
    if slug == "onedrive":

        async def onedrive(session: aiohttp.ClientSession, n: int) -> None:
            path = quote(f"bare/{prefix}/f{n}.pdf")
            url = (
                f"{settings['onedrive_api_url']}/me/drive/root:/{path}:/content"
                "?@microsoft.graph.conflictBehavior=fail"
            )
            headers = {**auth, "Content-Type": "application/pdf"}
            async with session.put(url, data=PAYLOADS[n], headers=headers) as answer:
                answer.raise_for_status()

        return onedrive
    api = settings["google_drive_api_url"]

    async def google_drive(session: aiohttp.ClientSession, n: int) -> None:
        folder = FOLDERS[prefix]
        q = f"name = 'f{n}.pdf' and '{folder}' in parents and trashed = false"
        async with session.get(f"{api}/drive/v3/files", params={"q": q}, headers=auth) as found:
            found.raise_for_status()
        meta = json.dumps({"name": f"f{n}.pdf", "parents": [folder]})
        body = (
            (
                f"--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n{meta}\r\n"
                f"--{BOUNDARY}\r\nContent-Type: application/pdf\r\n\r\n"
            ).encode()
            + PAYLOADS[n]
            + f"\r\n--{BOUNDARY}--\r\n".encode()
        )
        headers = {**auth, "Content-Type": f"multipart/related; boundary={BOUNDARY}"}
        url = f"{api}/upload/drive/v3/files?uploadType=multipart"
        async with session.post(url, data=body, headers=headers) as answer:
            answer.raise_for_status()

    return google_drive


PAYLOADS: list[bytes] = []
# Long enough never to occur in a payload ("b" did, in a padded PDF: a 400 from the stand-in).
BOUNDARY = "passeur-bench-3f9c2e7a5d1b"
FOLDERS: dict[str, str] = {}  # Google Drive: the bare client's folder id per run


async def bare(slug: str, settings: dict[str, str], prefix: str, c: int) -> float:
    """Documents per second sent by the bare client, `c` at a time."""
    token = await bare_token(settings, slug)
    connector = aiohttp.TCPConnector(limit=c)
    async with aiohttp.ClientSession(connector=connector) as session:
        if slug == "google_drive":
            url = f"{settings['google_drive_api_url']}/drive/v3/files"
            folder = {"name": prefix, "mimeType": "application/vnd.google-apps.folder"}
            async with session.post(
                url, json=folder, headers={"Authorization": f"Bearer {token}"}
            ) as made:
                FOLDERS[prefix] = (await made.json())["id"]
        send = bare_sender(slug, settings, token, prefix)
        queue = iter(range(len(PAYLOADS)))

        async def lane() -> None:
            for n in queue:
                await send(session, n)

        start = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(c)))
        return len(PAYLOADS) / (time.perf_counter() - start)


def with_passeur(slug: str, settings: dict[str, str], folder: Path, c: int) -> float:
    """Documents per second delivered by passeur (one worker in this process, SQLite)."""
    app = make_app(folder, worker_concurrency=c, worker_batch=c,
                   allowed_networks="127.0.0.0/8", **settings)  # fmt: skip
    try:
        held = held_exports(app, slug, {"parallel": str(c)}, PAYLOADS)
        [inst] = installations.list_installations(app, held.partner_id)
        clouds.sign_in(app, held.partner_id, inst.id)
        return in_process_rate(app, held, len(PAYLOADS))
    finally:
        app.close()


def run(documents: int, concurrency: int, providers: list[str] | None = None) -> dict[str, Any]:
    PAYLOADS[:] = [make_padded_pdf(SIZE, seed=n) for n in range(documents)]
    figures: dict[str, Any] = {"cloud_concurrency": concurrency}
    with TemporaryDirectory() as tmp:
        for slug in providers or list(clouds.STAND_INS):
            with cloud_stand_in(slug, Path(tmp) / slug) as settings:
                baseline = asyncio.run(bare(slug, settings, "bare", concurrency))
                mine = with_passeur(slug, settings, Path(tmp) / slug / "data", concurrency)
            figures[f"cloud_bare_documents_per_s_{slug}"] = round(baseline, 1)
            figures[f"cloud_throughput_ratio_{slug}"] = round(mine / baseline, 3)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--providers", default=",".join(clouds.STAND_INS))
    args = parser.parse_args()
    providers = [p for p in args.providers.split(",") if p]
    figures = run(args.documents, args.concurrency, providers)
    for slug in providers:
        print(
            f"{slug}: bare client {figures[f'cloud_bare_documents_per_s_{slug}']:.0f} "
            f"documents/s; passeur ratio {figures[f'cloud_throughput_ratio_{slug}']:.2f} "
            "(target >= 0.8)"
        )
    save("bench", figures)


if __name__ == "__main__":
    main()
