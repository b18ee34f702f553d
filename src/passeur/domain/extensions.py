"""Extensions (kinds of target), installations (a partner's template) and integrations."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from passeur.domain.documents import Family
from passeur.domain.errors import InvalidInput
from passeur.domain.fields import Field, clean_values, with_defaults


@dataclass(frozen=True)
class Pacing:
    """Limits a target sets on us, shared by every worker process (per installation)."""

    max_concurrent: int = 4
    per_minute: int | None = None
    per_day: int | None = None
    errors_per_hour: int | None = None

    @property
    def counts_calls(self) -> bool:
        """Whether calls are counted in minute and day windows (nothing reads the counts
        of a target without such limits)."""
        return self.per_minute is not None or self.per_day is not None


@dataclass(frozen=True)
class Rule:
    """A rule across several fields, checked when a configuration is saved.

    `check` gets the effective values (defaults, installation, overrides; no secret
    values) and the names of the secrets that are set; it raises InvalidInput.
    """

    check: Callable[[Mapping[str, Any], frozenset[str]], None]
    integration_only: bool = False  # e.g. "give at least one destination address"


@dataclass(frozen=True)
class OAuthSpec:
    """An extension whose installation signs in to the target's account (OAuth 2.0
    authorization code with PKCE): the store shows "Sign in with <provider>".

    The provider's URLs and our client id and secret are the operator's settings, named
    here. An extension whose provider is not written yet leaves `token_url_setting` out.
    Its connector never sees a token in its target's secrets: it asks `target.tokens`.
    """

    provider: str  # "Exact Online"
    authorize_url_setting: str  # e.g. "exact_authorize_url" (PASSEUR_EXACT_AUTHORIZE_URL)
    client_id_setting: str
    scope: str = ""
    token_url_setting: str = ""  # "": the provider is not written yet
    client_secret_setting: str = ""
    # Extra authorize parameters, e.g. (("token_access_type", "offline"),) for Dropbox.
    authorize_params: tuple[tuple[str, str], ...] = ()
    refresh_margin: float = 60.0  # seconds; Exact needs less than 30 (see OAuthClient)
    # The provider's API addresses its connector finds in `target.config`, from the
    # operator's settings: (config name, setting name), e.g. ("api_url", "dropbox_api_url").
    endpoints: tuple[tuple[str, str], ...] = ()
    # An installation field whose value fills `{<name>}` in every URL setting above:
    # Exact Online's country ("be" → https://start.exactonline.be), chosen at install.
    host_field: str = ""

    def url(self, setting_value: str, config: Mapping[str, Any]) -> str:
        """A URL setting with the installation's host part filled in."""
        if not self.host_field:
            return setting_value
        return setting_value.replace(
            "{" + self.host_field + "}", str(config.get(self.host_field) or "")
        )


class CallGate(Protocol):
    """A connector's allowance of calls to one account inside an installation (Exact:
    per company), shared by every worker (delivery/call_pacer.py).

    `call` waits for the account's next free slot (or raises when none comes soon, or
    when the account's failing calls reached their budget); `failed` counts a failing
    call against the hourly error budget.
    """

    async def call(self, account: str) -> None: ...

    async def failed(self, account: str) -> None: ...


class TokenSource(Protocol):
    """Valid access tokens for one installation's grant (services/oauth_grants.py).

    `refused` is a token the target just answered 401 to: never hand it back.
    """

    async def token(self, refused: str = "") -> str: ...

    def handed_out(self) -> list[str]:
        """The tokens handed out lately (redacted from what a try reports)."""
        ...


@dataclass(frozen=True)
class UploadSession:
    """An upload session a provider opened for one export's file, kept between tries so
    that the next try (in any worker) resumes it instead of sending the file again."""

    handle: str  # the session's address or id: a credential, stored sealed
    size: int  # the file's, and its SHA-256: a session is for these bytes only
    sha256: str
    expires_at: float  # epoch seconds: the provider's session lifetime
    confirmed: int = 0  # bytes the provider said it held when the session was last kept


class UploadSessions(Protocol):
    """Where a connector keeps the upload session of an export between tries, by the
    export's key (delivery/upload_sessions.py): written when a session opens, read by
    the next try, forgotten once the file is delivered."""

    async def find(self, export_key: str) -> UploadSession | None:
        """The export's session, unless there is none or it has expired."""
        ...

    async def keep(self, export_key: str, session: UploadSession) -> None: ...

    async def forget(self, export_key: str) -> None: ...


@dataclass(frozen=True)
class Extension:
    slug: str
    name: str
    category: str
    summary: str
    install_fields: tuple[Field, ...]
    integration_fields: tuple[Field, ...] = ()
    families: frozenset[Family] = frozenset(Family)
    sends: str = "the original file"
    pacing: Pacing = Pacing()
    ordered: bool = False  # deliver in approval order, one write in flight per target path
    # Accounting software that books entries from what it receives: a document whose
    # totals do not add up waits for a person's review before it goes there.
    books_entries: bool = False
    one_of: tuple[tuple[str, ...], ...] = ()  # e.g. a password or a private key
    rules: tuple[Rule, ...] = ()
    # The families one integration receives, from its own values (e.g. the e-mail
    # extension sends no sales documents to a client whose sales address is empty).
    narrow: Callable[[Mapping[str, Any]], frozenset[Family]] | None = None
    # The pacing one installation gets, from its values (e.g. a messages-per-minute field).
    pace: Callable[[Mapping[str, Any]], Pacing] | None = None
    oauth: OAuthSpec | None = None  # signs in to the target's account
    # Limits counted per call and per account inside one installation (Exact Online:
    # each company has its own 60 a minute, 5,000 a day, 10 failing calls an hour);
    # the connector asks `target.calls` before each call.
    account_pacing: Pacing | None = None
    # Operator settings its connector finds in `target.config` (a secret one, a SecretStr,
    # in `target.secrets`): (name, setting), e.g. ("api_url", "octopus_api_url").
    settings: tuple[tuple[str, str], ...] = ()
    # What the reference page and the guide say about a second copy on redelivery.
    redelivery: str = ""
    # The module of its local stand-in under sandbox/ (the demo and the tests use it).
    stand_in: str = ""
    # Pulled, not pushed: its exports wait on a feed that the partner's software reads and
    # acknowledges (services/feeds.py); the worker never claims them.
    pulled: bool = False

    def check_complete(self, given: set[str]) -> None:
        """Refuse a configuration that lacks every member of a one-of group."""
        fields = {f.name: f for f in self.install_fields + self.integration_fields}
        for group in self.one_of:
            if not given & set(group):
                labels = " or ".join(fields[name].label for name in group)
                raise InvalidInput(f"give a {labels}", field=group[0])

    def check_rules(
        self, config: Mapping[str, Any], secrets_set: frozenset[str], *, integration: bool
    ) -> None:
        for rule in self.rules:
            if integration or not rule.integration_only:
                rule.check(config, secrets_set)

    def families_for(self, integration_config: Mapping[str, Any]) -> frozenset[Family]:
        """What an integration with these values receives: never more than the extension."""
        if self.narrow is None:
            return self.families
        return self.families & self.narrow(integration_config)

    def pacing_for(self, installation_config: Mapping[str, Any]) -> Pacing:
        """The limits the shared pacer applies to one installation of this extension."""
        return self.pacing if self.pace is None else self.pace(installation_config)

    def __post_init__(self) -> None:
        names = [f.name for f in self.install_fields + self.integration_fields]
        if len(names) != len(set(names)):
            raise ValueError(f"extension {self.slug} declares a field name twice")

    @property
    def overridable_fields(self) -> tuple[Field, ...]:
        """Installation values a client's integration may override (never secrets)."""
        return tuple(f for f in self.install_fields if not f.secret and f.overridable)

    @property
    def client_fields(self) -> tuple[Field, ...]:
        """Everything the client's form shows: its own fields, then overridable ones."""
        return self.integration_fields + tuple(_optional(f) for f in self.overridable_fields)

    def clean_install(self, raw: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
        return clean_values(self.install_fields, raw, partial=partial)

    def clean_integration(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        values = clean_values(self.client_fields, raw, partial=True)
        missing = [f for f in self.integration_fields if f.required and f.name not in values]
        if missing:
            labels = ", ".join(f.label for f in missing)
            raise InvalidInput(f"missing required field(s): {labels}", field=missing[0].name)
        return values

    def secret_names(self) -> set[str]:
        return {f.name for f in self.install_fields + self.integration_fields if f.secret}


def _optional(f: Field) -> Field:
    from dataclasses import replace

    return replace(f, required=False, default=None)


class IntegrationStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    NEEDS_ATTENTION = "needs_attention"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True)
class Installation:
    id: int
    partner_id: int
    extension: str
    name: str
    config: dict[str, Any]
    active: bool
    created_at: datetime
    secret_fields: frozenset[str] = frozenset()  # which secrets are set (never their values)


@dataclass(frozen=True)
class Integration:
    id: int
    partner_id: int
    client_id: int
    installation_id: int
    config: dict[str, Any]
    status: IntegrationStatus
    status_reason: str
    activated_at: datetime
    created_at: datetime
    secret_fields: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Target:
    """Everything a connector needs to reach one integration's target (secrets included).

    Lives only in a worker's memory for the length of a try or a check.
    """

    installation_id: int
    integration_id: int | None
    extension: str
    config: dict[str, Any]
    secrets: dict[str, str] = field(repr=False, default_factory=dict)
    # For an extension that signs in: where its connector asks for an access token.
    tokens: TokenSource | None = field(repr=False, default=None, compare=False)
    # For an extension with `account_pacing`: where its connector asks to make a call.
    calls: CallGate | None = field(repr=False, default=None, compare=False)
    # Where an upload session outlives a try (cloud folders' large files).
    uploads: UploadSessions | None = field(repr=False, default=None, compare=False)

    def get(self, name: str, default: Any = None) -> Any:
        return self.config.get(name, default)


def effective_config(
    extension: Extension,
    installation_config: Mapping[str, Any],
    integration_config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Defaults, then the installation's values, then the client's overrides."""
    merged = with_defaults(extension.install_fields + extension.integration_fields, {})
    merged.update(installation_config)
    merged.update(integration_config or {})
    return merged
