"""The Dropbox extension's declaration: no client field, the shared cloud-folder layout,
OAuth with offline access (short-lived access tokens, a refresh token kept sealed)."""

from __future__ import annotations

from passeur.connectors import cloud_folder
from passeur.connectors.fields import parallel_field, parallel_pacing
from passeur.domain.documents import Family
from passeur.domain.extensions import Extension, OAuthSpec, Pacing

# Parallel writes in one Dropbox namespace contend for its lock (too_many_write_operations):
# a few at a time is what Dropbox advises.
PACING = Pacing(max_concurrent=4)

EXTENSION = Extension(
    slug="dropbox",
    name="Dropbox",
    category="Cloud folder",
    summary="Put each document in a Dropbox folder that accounting software watches.",
    install_fields=(*cloud_folder.FIELDS, parallel_field("Parallel uploads", 4)),
    families=frozenset(Family),
    sends=cloud_folder.SENDS,
    pacing=PACING,
    pace=parallel_pacing(PACING),
    oauth=OAuthSpec(
        provider="Dropbox",
        authorize_url_setting="dropbox_authorize_url",
        token_url_setting="dropbox_token_url",
        client_id_setting="dropbox_client_id",
        client_secret_setting="dropbox_client_secret",
        scope="account_info.read files.metadata.read files.content.write",
        authorize_params=(("token_access_type", "offline"),),
        endpoints=(("api_url", "dropbox_api_url"), ("content_url", "dropbox_content_url")),
    ),
    stand_in="passeur.sandbox.dropbox_server",
)
