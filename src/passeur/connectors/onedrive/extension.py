"""The OneDrive extension's declaration (OneDrive for Business and personal, through
Microsoft Graph): no client field, the shared cloud-folder layout, OAuth with
`offline_access` (Microsoft rotates the refresh token on each refresh)."""

from __future__ import annotations

from passeur.connectors import cloud_folder
from passeur.connectors.fields import parallel_field, parallel_pacing
from passeur.domain.documents import Family
from passeur.domain.extensions import Extension, OAuthSpec, Pacing

PACING = Pacing(max_concurrent=4)

EXTENSION = Extension(
    slug="onedrive",
    name="Microsoft OneDrive",
    category="Cloud folder",
    summary="Put each document in a OneDrive folder that accounting software watches.",
    install_fields=(*cloud_folder.FIELDS, parallel_field("Parallel uploads", 4)),
    families=frozenset(Family),
    sends=cloud_folder.SENDS,
    pacing=PACING,
    pace=parallel_pacing(PACING),
    oauth=OAuthSpec(
        provider="Microsoft",
        authorize_url_setting="onedrive_authorize_url",
        token_url_setting="onedrive_token_url",
        client_id_setting="onedrive_client_id",
        client_secret_setting="onedrive_client_secret",
        scope="offline_access Files.ReadWrite User.Read",
        authorize_params=(("response_mode", "query"),),
        endpoints=(("api_url", "onedrive_api_url"),),
    ),
    stand_in="passeur.sandbox.onedrive_server",
)
