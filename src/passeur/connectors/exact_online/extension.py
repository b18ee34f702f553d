"""The Exact Online extension's declaration: one sign-in per installation (Exact keeps
only the latest connection valid), on the country instance chosen at install; each
client's integration names its company by its Company Code."""

from __future__ import annotations

from passeur.domain.documents import Family
from passeur.domain.extensions import Extension, OAuthSpec, Pacing
from passeur.domain.fields import Field, FieldKind

COUNTRIES = ("be", "nl", "de", "fr", "es", "co.uk", "com")

# Per company (division): 60 calls a minute, 5,000 a day; 10 failing calls an hour lock
# the app out. Counted per call by delivery/call_pacer.py.
PER_COMPANY = Pacing(max_concurrent=1, per_minute=60, per_day=5000, errors_per_hour=10)

EXTENSION = Extension(
    slug="exact_online",
    name="Exact Online",
    category="Accounting software",
    summary="Each purchase and sales invoice into the client's company in Exact Online, "
    "as a document of the matching type with the file attached, ready to be booked.",
    install_fields=(
        Field(
            "country",
            "Country",
            FieldKind.CHOICE,
            default="be",
            choices=COUNTRIES,
            help="The Exact Online instance the firm signs in to: be for "
            "start.exactonline.be, nl for start.exactonline.nl, and so on. Its tokens "
            "and companies belong to that country.",
            overridable=False,
        ),
        Field(
            "purchase_journal",
            "Purchase journal",
            default="600",
            advanced=True,
            help="The journal code purchase entries are booked in; a client's integration "
            "may name another. Checked with the company when saved.",
        ),
        Field(
            "sales_journal",
            "Sales journal",
            default="700",
            advanced=True,
            help="The journal code sales entries are booked in; a client's integration "
            "may name another. Checked with the company when saved.",
        ),
        Field(
            "purchase_gl_account",
            "Purchase GL account",
            default="604000",
            advanced=True,
            help="The general ledger account code a purchase entry's lines are booked on.",
        ),
        Field(
            "sales_gl_account",
            "Sales GL account",
            default="700000",
            advanced=True,
            help="The general ledger account code a sales entry's lines are booked on.",
        ),
    ),
    integration_fields=(
        Field(
            "company_code",
            "Company Code",
            FieldKind.INTEGER,
            required=True,
            minimum=1,
            help="The client's company in Exact Online: the number shown top-left of the "
            "Exact dashboard, next to the company name. Checked when saved.",
        ),
    ),
    families=frozenset({Family.PURCHASES, Family.SALES}),
    sends="e-fff (the UBL with its PDF embedded) for a document that came as UBL, else its "
    "PDF, attached to an Exact Online document; with a purchase or sales entry in the "
    "client's journal where the UBL names the supplier or customer by VAT number (each "
    "looked up first: never twice)",
    books_entries=True,
    pacing=Pacing(max_concurrent=8),
    account_pacing=PER_COMPANY,
    ordered=True,  # one try in flight per company: a busy company never holds the others
    oauth=OAuthSpec(
        provider="Exact Online",
        authorize_url_setting="exact_online_authorize_url",
        token_url_setting="exact_online_token_url",
        client_id_setting="exact_online_client_id",
        client_secret_setting="exact_online_client_secret",
        refresh_margin=30.0,  # Exact refuses a refresh before the token's last 30 s
        endpoints=(("api_url", "exact_online_api_url"),),
        host_field="country",
    ),
    stand_in="passeur.sandbox.exact_online_server",
)
