"""The SFTP extension's declaration: its fields and their checks.

Apart from the connector (`sftp.py`), so that listing extensions or checking a form does
not load the SSH library; a field check that needs it imports it when it runs.
"""

from __future__ import annotations

from passeur.connectors.fields import parallel_field, parallel_pacing
from passeur.domain.documents import Family
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Extension, Pacing
from passeur.domain.fields import Field, FieldKind
from passeur.domain.paths import check_lengths


def _check_host_key(value: str) -> None:
    if value.startswith("SHA256:"):
        return
    import asyncssh  # here: the declaration is read without it

    try:
        asyncssh.import_public_key(value)
    except (asyncssh.KeyImportError, ValueError):
        raise InvalidInput(
            "Host key must be the server's public key (e.g. 'ssh-ed25519 AAAA…') or its "
            "SHA256 fingerprint; use test connection to read it from the server"
        ) from None


def _check_private_key(value: str) -> None:
    import asyncssh  # here: the declaration is read without it

    try:
        asyncssh.import_private_key(value)
    except (asyncssh.KeyImportError, ValueError):
        raise InvalidInput("Private key is not an OpenSSH or PEM private key") from None


# One connection carries many requests at once; 8 suits a modest server.
PACING = Pacing(max_concurrent=8)

EXTENSION = Extension(
    slug="sftp",
    name="SFTP",
    category="Server export",
    summary="Upload each document to a folder on an SFTP server.",
    install_fields=(
        Field("host", "Host", FieldKind.HOST, required=True, help="Name or IP address."),
        Field("port", "Port", FieldKind.INTEGER, default=22, minimum=1, maximum=65535),
        Field("username", "Username", required=True),
        Field("password", "Password", secret=True, help="Leave empty when using a key."),
        Field(
            "private_key",
            "Private key",
            FieldKind.MULTILINE,
            secret=True,
            help="OpenSSH private key, instead of or beside the password.",
            check=_check_private_key,
        ),
        Field(
            "host_key",
            "Server host key",
            help="Pinned by 'test connection' after you confirm its SHA256 fingerprint.",
            check=_check_host_key,
        ),
        Field(
            "root",
            "Root folder",
            default=".",
            help="Folder on the server that every upload path stays inside ('.' = login folder).",
            check=check_lengths,
        ),
        Field(
            "upload_path",
            "Upload path",
            FieldKind.PATH,
            default="/invoice_import/[external_id]_[uen_number]/[invoice_type]",
            help="Folder under the root, with variables such as [uen_number] and [year].",
        ),
        Field(
            "verify_readback",
            "Verify by reading back",
            FieldKind.BOOLEAN,
            default=False,
            advanced=True,
            help="Read each uploaded file back and compare its SHA-256 (doubles traffic).",
        ),
        parallel_field("Parallel uploads", 8),
    ),
    families=frozenset(Family),
    sends="the original file (UBL, PDF or CODA as .cod)",
    pacing=PACING,
    pace=parallel_pacing(PACING),
    one_of=(("password", "private_key"),),
    stand_in="passeur.sandbox.sftp_server",
)
