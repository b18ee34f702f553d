"""What the cloud-folder extensions (Dropbox, Google Drive, OneDrive) share, written once:
the layout and names (`layout`), calling a provider and the connector base (`calls`), and
moving the bytes (`transfer`)."""

from passeur.connectors.cloud_folder.calls import (
    READ_AT_MOST,
    CloudApi,
    CloudConnector,
    Reply,
    call,
)
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
from passeur.connectors.cloud_folder.transfer import (
    PIECE,
    RESUMES,
    in_the_way,
    pieces,
    read_through,
    send_ranges,
)

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
    "NameRules",
    "Reply",
    "call",
    "extension",
    "family_of",
    "file_name",
    "folders",
    "in_the_way",
    "path",
    "pieces",
    "read_through",
    "send_ranges",
]
