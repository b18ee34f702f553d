"""Settings from the environment (prefix PASSEUR_). Read by bootstrap, never at import time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from passeur.domain.errors import InvalidInput
from passeur.domain.network import NetworkPolicy
from passeur.domain.retries import RetrySchedule


class Settings(BaseModel):
    """Given values, else PASSEUR_<NAME> (any case), else the default; all validated.

    Read here rather than by pydantic-settings, which costs every command about 30 ms of
    its start-up (argparse, dotenv, its sources) for what these few lines do: every field
    is a plain value, so an environment variable is handed to the field as it is.
    """

    model_config = ConfigDict(extra="ignore", validate_default=True)

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**_from_environment(type(self).model_fields), **values})

    data_dir: Path = Field(default=Path("var"), description="Where SQLite, blobs and keys live.")
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means SQLite in data_dir. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    secret_keys: SecretStr = Field(
        default=SecretStr(""),
        description="Comma-separated base64 keys (32 bytes), newest first. "
        "Empty: a key file is generated in data_dir (mode 0600).",
    )
    lease_seconds: float = Field(default=60.0, gt=0, description="How long a claim holds.")
    retry_schedule: str = Field(
        default="0,5s,5m,30m,2h,5h,10h,14h,20h,24h",
        description="Delays between tries; jitter of retry_jitter is added.",
    )
    retry_jitter: float = Field(default=0.2, ge=0, le=1)
    worker_batch: int = Field(default=20, ge=1, le=1000, description="Exports claimed at once.")
    worker_concurrency: int = Field(default=8, ge=1, le=256)
    poll_seconds: float = Field(default=1.0, gt=0, description="Idle wait between claims.")
    delivery_timeout_seconds: float = Field(default=300.0, gt=0)
    retention_days: float = Field(
        default=90, gt=0, description="Delivered exports are pruned after this many days."
    )
    allowed_networks: str = Field(
        default="",
        description="Comma-separated CIDRs that connectors may reach although they are not "
        "public (e.g. 10.20.0.0/16 for an intranet endpoint). Empty: private, loopback, "
        "link-local, CGNAT and cloud metadata addresses are all refused (SSRF guard).",
    )
    # Dropbox (an operator's app registration; the demo and tests point these at the
    # stand-in, passeur.sandbox.dropbox_server).
    dropbox_client_id: str = Field(default="", description="The Dropbox app's key.")
    dropbox_client_secret: SecretStr = Field(
        default=SecretStr(""), description="The Dropbox app's secret (empty: PKCE alone)."
    )
    dropbox_authorize_url: str = "https://www.dropbox.com/oauth2/authorize"
    dropbox_token_url: str = "https://api.dropboxapi.com/oauth2/token"
    dropbox_api_url: str = Field(
        default="https://api.dropboxapi.com", description="Dropbox's RPC endpoints."
    )
    dropbox_content_url: str = Field(
        default="https://content.dropboxapi.com", description="Dropbox's upload endpoints."
    )
    # Google Drive (the stand-in: passeur.sandbox.google_drive_server).
    google_drive_client_id: str = Field(default="", description="The Google OAuth client id.")
    google_drive_client_secret: SecretStr = Field(
        default=SecretStr(""), description="The Google OAuth client secret."
    )
    google_drive_authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_drive_token_url: str = "https://oauth2.googleapis.com/token"
    google_drive_api_url: str = Field(
        default="https://www.googleapis.com", description="Drive's API and upload endpoints."
    )
    # OneDrive through Microsoft Graph (the stand-in: passeur.sandbox.onedrive_server). The
    # tenant is in the sign-in URLs: common (work and personal accounts), organizations,
    # consumers or a tenant id.
    onedrive_client_id: str = Field(default="", description="The Microsoft app's client id.")
    onedrive_client_secret: SecretStr = Field(
        default=SecretStr(""), description="The Microsoft app's client secret."
    )
    onedrive_authorize_url: str = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
    onedrive_token_url: str = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    onedrive_api_url: str = Field(
        default="https://graph.microsoft.com/v1.0", description="Microsoft Graph."
    )
    # Exact Online (the stand-in: passeur.sandbox.exact_online_server). One instance per
    # country: {country} is the installation's ("be", "nl", ...).
    exact_online_client_id: str = Field(default="", description="The Exact app's client id.")
    exact_online_client_secret: SecretStr = Field(
        default=SecretStr(""), description="The Exact app's client secret."
    )
    exact_online_authorize_url: str = "https://start.exactonline.{country}/api/oauth2/auth"
    exact_online_token_url: str = "https://start.exactonline.{country}/api/oauth2/token"
    exact_online_api_url: str = Field(
        default="https://start.exactonline.{country}/api/v1",
        description="Exact Online's REST API; {country} is the installation's country.",
    )
    pacing_time_scale: float = Field(
        default=1.0,
        ge=1.0,
        le=10_000.0,
        description="Benchmarks only: the per-account pacer's windows (a minute, an hour, a "
        "day) run this many times faster. Leave at 1 in production.",
    )
    blob_url: str = Field(
        default="",
        description="Where documents' files live: file:///path/to/folder, or "
        "s3://bucket/prefix for an S3-compatible store (several machines). Empty: the "
        "folder blobs in data_dir.",
    )
    s3_endpoint: str = Field(
        default="",
        description="The S3 API's URL (MinIO, Ceph, Garage…: http(s)://host:port); "
        "empty: AWS S3 in s3_region.",
    )
    s3_region: str = Field(default="us-east-1", description="The bucket's region.")
    s3_access_key_id: str = Field(
        default="", description="Empty: the AWS_* variables or the instance's role."
    )
    s3_secret_access_key: SecretStr = Field(default=SecretStr(""))
    s3_timeout_seconds: float = Field(
        default=30.0, gt=0, description="How long one S3 request may take, retries included."
    )
    s3_retries: int = Field(
        default=3, ge=0, le=10, description="Retries of a failed S3 request (5xx, cut)."
    )
    # Octopus (the stand-in: passeur.sandbox.octopus_server). The software house id is
    # what Octopus gave the operator when it registered its integration.
    octopus_software_house_uuid: SecretStr = Field(
        default=SecretStr(""), description="The softwareHouseUuid Octopus gave the operator."
    )
    octopus_api_url: str = Field(
        default="https://service.inaras.be/octopus-rest-api/v1",
        description="Octopus's REST API (sign-in, the dossier list).",
    )
    octopus_file_import_url: str = Field(
        default="https://service.inaras.be/octopus-file-import-api/v1",
        description="Octopus's file-import API (the Document Import Viewer).",
    )
    # Yuki: an access key works only on its own country's host (the stand-in:
    # passeur.sandbox.yuki_server).
    yuki_be_url: str = Field(
        default="https://api.yukiworks.be/ws", description="Yuki's web services in Belgium."
    )
    yuki_nl_url: str = Field(
        default="https://api.yukiworks.nl/ws", description="Yuki's web services in the Netherlands."
    )
    # ClearFacts (OpenID Connect; the stand-in: passeur.sandbox.clearfacts_server). An
    # installation may instead give a personal access token, which needs none of these
    # but the API's address.
    clearfacts_client_id: str = Field(default="", description="The ClearFacts app's client id.")
    clearfacts_client_secret: SecretStr = Field(
        default=SecretStr(""), description="The ClearFacts app's client secret."
    )
    clearfacts_authorize_url: str = "https://login.clearfacts.be/oauth2-server/authorize"
    clearfacts_token_url: str = "https://login.clearfacts.be/oauth2-server/token"
    clearfacts_api_url: str = Field(
        default="https://api.clearfacts.be", description="ClearFacts' GraphQL API (/graphql)."
    )
    api_token_seconds: int = Field(
        default=900, ge=60, le=86400, description="Lifetime of an API access token."
    )
    api_rate_limit: int = Field(
        default=600, ge=1, description="Requests an API client may make per rate window."
    )
    api_rate_window_seconds: int = Field(
        default=60, ge=1, le=86400, description="The API's rate-limit window."
    )
    log_format: Literal["json", "text"] = Field(
        default="text",
        description="The worker's and the web server's log lines: json (one event per "
        "line, for a log collector) or text (for a person at a terminal).",
    )
    # Notifications to the firm's people go out through the operator's SMTP relay, by
    # the e-mail extension's own code (connectors/email). Empty host: shown in the UI only.
    smtp_host: str = Field(
        default="", description="The relay for notification e-mails; empty: none are mailed."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="starttls (required, never skipped), tls, or none."
    )
    smtp_username: str = Field(default="", description="Empty: no login.")
    smtp_password: SecretStr = Field(default=SecretStr(""))
    smtp_sender: str = Field(
        default="passeur@localhost", description="The From address of notification e-mails."
    )
    smtp_sender_name: str = Field(default="passeur")
    smtp_ca_bundle: str = Field(
        default="",
        description="A CA bundle (PEM) for a relay whose certificate a company CA signed.",
    )
    notice_check_seconds: float = Field(
        default=900.0,
        gt=0,
        description="How often a worker looks for integrations without a delivered export "
        "and sign-ins about to run out.",
    )
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8340, ge=0, le=65535)

    @field_validator("retry_schedule")
    @classmethod
    def _schedule_parses(cls, value: str) -> str:
        RetrySchedule.parse(value)
        return value

    @field_validator("allowed_networks")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        try:
            NetworkPolicy.parse(value)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("blob_url")
    @classmethod
    def _blob_url_parses(cls, value: str) -> str:
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if value and scheme not in ("file", "s3"):
            raise ValueError("give file:///path/to/folder or s3://bucket/prefix")
        if scheme == "s3" and not value[len("s3://") :].split("/", 1)[0]:
            raise ValueError("an s3:// URL names its bucket: s3://bucket/prefix")
        if scheme == "file" and not value[len("file://") :]:
            raise ValueError("a file:// URL names its folder: file:///path/to/folder")
        return value

    @field_validator("smtp_sender")
    @classmethod
    def _sender_is_an_address(cls, value: str) -> str:
        local, at, domain = value.partition("@")
        if not (local and at and domain) or any(c in value for c in "\r\n <>,"):
            raise ValueError("give one address, e.g. passeur@firm.example")
        return value

    @property
    def network_policy(self) -> NetworkPolicy:
        return NetworkPolicy.parse(self.allowed_networks)

    @property
    def schedule(self) -> RetrySchedule:
        return RetrySchedule.parse(self.retry_schedule, jitter=self.retry_jitter)

    def as_environment(self) -> dict[str, str]:
        """These settings as PASSEUR_ variables, to start another process (a worker) that
        shares this one's database, blobs and keys."""
        env = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"PASSEUR_{name.upper()}"] = str(value)
        env["PASSEUR_DATABASE_URL"] = self.effective_database_url
        return env

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'passeur.db').resolve()}"


def _from_environment(fields: dict[str, Any]) -> dict[str, str]:
    """The PASSEUR_ variables that name a field, by field name (names are not case-sensitive)."""
    wanted = {f"passeur_{name}": name for name in fields}
    return {wanted[k.lower()]: v for k, v in os.environ.items() if k.lower() in wanted}
