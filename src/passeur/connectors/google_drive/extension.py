"""The Google Drive extension's declaration: no client field, the shared cloud-folder
layout, OAuth with offline access and the consent screen every time (Google sends the
refresh token only on a consent)."""

from __future__ import annotations

from passeur.connectors import cloud_folder
from passeur.connectors.fields import parallel_field, parallel_pacing
from passeur.domain.documents import Family
from passeur.domain.extensions import Extension, OAuthSpec, Pacing

PACING = Pacing(max_concurrent=4)

EXTENSION = Extension(
    slug="google_drive",
    name="Google Drive",
    category="Cloud folder",
    summary="Put each document in a Google Drive folder that accounting software watches.",
    install_fields=(*cloud_folder.FIELDS, parallel_field("Parallel uploads", 4)),
    families=frozenset(Family),
    sends=cloud_folder.SENDS,
    pacing=PACING,
    pace=parallel_pacing(PACING),
    oauth=OAuthSpec(
        provider="Google Drive",
        authorize_url_setting="google_drive_authorize_url",
        token_url_setting="google_drive_token_url",
        client_id_setting="google_drive_client_id",
        client_secret_setting="google_drive_client_secret",
        # Only the files and folders passeur made: no access to the rest of the Drive.
        scope="https://www.googleapis.com/auth/drive.file",
        authorize_params=(("access_type", "offline"), ("prompt", "consent")),
        endpoints=(("api_url", "google_drive_api_url"),),
    ),
    stand_in="passeur.sandbox.google_drive_server",
)
