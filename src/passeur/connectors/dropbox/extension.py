"""The Dropbox extension's declaration: the shared cloud-folder one, with OAuth offline
access (short-lived access tokens, a refresh token kept sealed)."""

from __future__ import annotations

from passeur.connectors import cloud_folder
from passeur.domain.extensions import OAuthSpec

EXTENSION = cloud_folder.extension(
    "dropbox",
    "Dropbox",
    OAuthSpec(
        provider="Dropbox",
        authorize_url_setting="dropbox_authorize_url",
        token_url_setting="dropbox_token_url",
        client_id_setting="dropbox_client_id",
        client_secret_setting="dropbox_client_secret",
        scope="account_info.read files.metadata.read files.content.write",
        authorize_params=(("token_access_type", "offline"),),
        endpoints=(("api_url", "dropbox_api_url"), ("content_url", "dropbox_content_url")),
    ),
    "passeur.sandbox.dropbox_server",
)
