"""The Google Drive extension's declaration: the shared cloud-folder one, with OAuth
offline access and the consent screen every time (Google sends the refresh token only
on a consent)."""

from __future__ import annotations

from passeur.connectors import cloud_folder
from passeur.domain.extensions import OAuthSpec

EXTENSION = cloud_folder.extension(
    "google_drive",
    "Google Drive",
    OAuthSpec(
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
    "passeur.sandbox.google_drive_server",
)
