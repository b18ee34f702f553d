"""What the cloud-folder extensions (Dropbox, Google Drive, OneDrive) share, written once:
the layout and names (`layout`), calling a provider and the connector base (`calls`),
moving the bytes (`transfer`) and keeping an upload session between tries (`resume`).

The layout is read without the HTTP client (the extensions' declarations use it); calling
and moving bytes are imported when first asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from passeur.connectors.cloud_folder.layout import (
    DROPBOX,
    FAMILY_FOLDERS,
    FIELDS,
    GOOGLE_DRIVE,
    LAYOUT_ROOT,
    ONEDRIVE,
    PACING,
    PATH_TEMPLATE,
    ROOT_FOLDER,
    SENDS,
    NameRules,
    extension,
    family_of,
    file_name,
    folders,
    path,
)

if TYPE_CHECKING:
    from passeur.connectors.cloud_folder.calls import (
        READ_AT_MOST,
        CloudApi,
        CloudConnector,
        Reply,
        call,
    )
    from passeur.connectors.cloud_folder.resume import Kept, Progress, lifetime
    from passeur.connectors.cloud_folder.transfer import (
        PIECE,
        RESUMES,
        in_the_way,
        pieces,
        read_through,
        send_ranges,
    )

_LATER = {
    "READ_AT_MOST": "calls",
    "CloudApi": "calls",
    "CloudConnector": "calls",
    "Reply": "calls",
    "call": "calls",
    "PIECE": "transfer",
    "RESUMES": "transfer",
    "in_the_way": "transfer",
    "pieces": "transfer",
    "read_through": "transfer",
    "send_ranges": "transfer",
    "Kept": "resume",
    "Progress": "resume",
    "lifetime": "resume",
}


__all__ = [
    "DROPBOX",
    "FAMILY_FOLDERS",
    "FIELDS",
    "GOOGLE_DRIVE",
    "LAYOUT_ROOT",
    "ONEDRIVE",
    "PACING",
    "PATH_TEMPLATE",
    "PIECE",
    "READ_AT_MOST",
    "RESUMES",
    "ROOT_FOLDER",
    "SENDS",
    "CloudApi",
    "CloudConnector",
    "Kept",
    "NameRules",
    "Progress",
    "Reply",
    "call",
    "extension",
    "family_of",
    "file_name",
    "folders",
    "in_the_way",
    "lifetime",
    "path",
    "pieces",
    "read_through",
    "send_ranges",
]


def __getattr__(name: str) -> Any:
    if name in _LATER:
        return getattr(importlib.import_module(f"{__name__}.{_LATER[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
