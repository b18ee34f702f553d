"""The OneDrive extension's declaration (OneDrive for Business and personal, through
Microsoft Graph): the shared cloud-folder one, with OAuth `offline_access` (Microsoft
rotates the refresh token on each refresh; the grant store keeps the new one)."""

from __future__ import annotations

from passeur.connectors import cloud_folder
from passeur.domain.extensions import OAuthSpec

EXTENSION = cloud_folder.extension(
    "onedrive",
    "Microsoft OneDrive",
    OAuthSpec(
        provider="Microsoft",
        authorize_url_setting="onedrive_authorize_url",
        token_url_setting="onedrive_token_url",
        client_id_setting="onedrive_client_id",
        client_secret_setting="onedrive_client_secret",
        scope="offline_access Files.ReadWrite User.Read",
        authorize_params=(("response_mode", "query"),),
        endpoints=(("api_url", "onedrive_api_url"),),
    ),
    "passeur.sandbox.onedrive_server",
)
