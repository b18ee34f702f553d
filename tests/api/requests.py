"""One valid request for every operation of the API, for any tenant's ids: the
authorisation matrix and the secret-marker walk call each of them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from passeur.formats.corpus import make_padded_pdf
from tests.api.conftest import Tenant

PARAMS = {
    "client_id": "client",
    "installation_id": "installation",
    "integration_id": "integration",
    "document_id": "document",
    "export_id": "export",
    "template_id": "template",
    "user_id": "user",
    "backfill_id": "backfill",
    "item_id": "feed_item",
    "subscription_id": "subscription",
}
LITERALS = {"slug": "http", "role": "original"}  # path parameters that are not ids

# Bodies and queries, with {name} standing for the tenant's id of that name. An operation
# missing here fails the matrix's completeness test: a new route needs its line.
CLIENTS_CSV = (
    b"name,country,contact_email,contact_first_name,contact_last_name,contact_locale,external_ref\n"
    b"Imported BV,BE,boss@imported.be,Ann,Peeters,nl-BE,IMP1\n"
)
OPERATIONS: dict[str, dict[str, Any]] = {
    "GET /catalogue": {},
    "GET /catalogue/{slug}": {},
    "GET /installations": {},
    "POST /installations": {
        "json": {
            "extension": "http",
            "name": "New",
            "values": {"base_url": "https://127.0.0.1:9/x", "signing_secret": "whsec_" + "B" * 32},
        }
    },
    "GET /installations/{installation_id}": {},
    "PATCH /installations/{installation_id}": {"json": {"name": "Renamed"}},
    "POST /installations/{installation_id}/activate": {},
    "POST /installations/{installation_id}/deactivate": {},
    "POST /installations/{installation_id}/test": {"json": {}},
    "GET /clients": {},
    "POST /clients": {"json": {"name": "New client"}},
    "GET /clients/{client_id}": {},
    "PATCH /clients/{client_id}": {"json": {"name": "Renamed client"}},
    "POST /clients/{client_id}/status": {"json": {"status": "archived"}},
    "GET /integrations": {"params": {"client_id": "{client}"}},
    "POST /integrations": {
        "json": {"client_id": "{other_client}", "installation_id": "{installation}", "values": {}}
    },
    "POST /integrations/path-preview": {
        "json": {"client_id": "{client}", "installation_id": "{installation}", "values": {}}
    },
    "GET /integrations/{integration_id}": {},
    "PATCH /integrations/{integration_id}": {"json": {"values": {"path": "/other"}}},
    "POST /integrations/{integration_id}/pause": {},
    "POST /integrations/{integration_id}/resume": {},
    "DELETE /integrations/{integration_id}": {},
    "POST /integrations/{integration_id}/test": {"json": {}},
    "POST /integrations/{integration_id}/backfills": {
        "json": {"since": "2020-01-01", "until": "2020-06-01", "dry_run": False}
    },
    "GET /backfills/{backfill_id}": {},
    "POST /backfills/{backfill_id}/advance": {},
    "POST /backfills/{backfill_id}/stop": {},
    "POST /backfills/{backfill_id}/resume": {},
    "GET /clients/{client_id}/documents": {"params": {"folder": "purchase_invoices"}},
    "POST /clients/{client_id}/documents": {
        "files": {"file": ("a.txt", b"hello", "text/plain")},
        "data": {"kind": "other"},
    },
    "GET /documents/{document_id}": {},
    "GET /documents/{document_id}/original": {},
    "GET /documents/{document_id}/pdf": {},
    "POST /documents/{document_id}/processed": {},
    "POST /documents/{document_id}/resend": {"json": {}},
    "POST /documents/{document_id}/approve": {"document": "pending_document"},
    "POST /documents/{document_id}/send": {},
    "GET /exports": {"params": {"client_id": "{client}"}},
    "GET /exports/retry-preview": {"params": {"client_id": "{client}"}},
    "POST /exports/retry": {"json": {"client_id": "{client}", "confirm": True}},
    "GET /exports/{export_id}": {},
    "POST /exports/{export_id}/retry": {},
    "GET /templates": {},
    "POST /templates": {"json": {"name": "Another"}},
    "GET /templates/{template_id}": {},
    "PUT /templates/{template_id}": {
        "json": {"name": "Renamed template", "users": [{"user_id": "{user}", "access": "view"}]}
    },
    "DELETE /templates/{template_id}": {},
    "POST /templates/{template_id}/default": {},
    "PUT /templates/{template_id}/integrations/{installation_id}": {"json": {"values": {}}},
    "DELETE /templates/{template_id}/integrations/{installation_id}": {},
    "GET /users": {},
    "POST /users": {"json": {"email": "new@firm.be", "name": "New", "roles": ["accountant"]}},
    "GET /users/{user_id}": {},
    "PUT /users/{user_id}/roles": {"json": {"roles": ["accountant", "client_manager"]}},
    "GET /clients/{client_id}/team": {},
    "PUT /clients/{client_id}/team/{user_id}": {"json": {"access": "view"}},
    "DELETE /clients/{client_id}/team/{user_id}": {},
    # The feed: pulled (leased) before its file is read and the item acknowledged.
    "GET /feeds/{integration_id}/items": {"integration": "feed_integration"},
    "GET /feeds/{integration_id}/items/{item_id}/files/{role}": {"integration": "feed_integration"},
    "POST /feeds/{integration_id}/items/{item_id}/ack": {"integration": "feed_integration"},
    "POST /feeds/{integration_id}/acks": {
        "integration": "feed_integration",
        "json": {"ids": ["{feed_item}"]},
    },
    "GET /webhooks": {},
    "POST /webhooks": {
        "json": {
            "url": "https://127.0.0.1:9/other",
            "event_types": ["export.failed"],
            "client_ids": ["{client}"],
            "secret": "whsec_" + "C" * 32,
        }
    },
    "GET /webhooks/{subscription_id}": {},
    "GET /webhooks/{subscription_id}/deliveries": {},
    "POST /webhooks/{subscription_id}/test": {},
    "DELETE /webhooks/{subscription_id}": {},
    # Everything else an accountant does: imports (preview, then confirm), a bulk upload,
    # a review, a template applied to an existing client, an OAuth sign-in begun.
    "POST /clients/import-preview": {"files": {"file": ("clients.csv", CLIENTS_CSV, "text/csv")}},
    "POST /clients/import": {"files": {"file": ("clients.csv", CLIENTS_CSV, "text/csv")}},
    "POST /installations/{installation_id}/import-preview": {
        "files": {"file": ("rows.csv", b"client\nC001\n", "text/csv")}
    },
    "POST /installations/{installation_id}/import": {
        "files": {"file": ("rows.csv", b"client\nC001\n", "text/csv")}
    },
    "POST /clients/{client_id}/documents/bulk": {
        "files": [
            ("files", ("one.pdf", make_padded_pdf(2000, seed=1), "application/pdf")),
            ("files", ("two.pdf", make_padded_pdf(2000, seed=2), "application/pdf")),
        ],
        "data": {"kind": "other"},
    },
    "POST /documents/{document_id}/reviewed": {},
    "GET /clients/{client_id}/templates/{template_id}/plan": {},
    "POST /clients/{client_id}/templates/{template_id}/apply": {},
    "POST /installations/{installation_id}/sign-in": {"json": {"user_id": "{user}"}},
}
NO_TENANT_IDS = {
    "GET /catalogue",
    "GET /catalogue/{slug}",
    "GET /installations",
    "POST /installations",
    "GET /clients",
    "POST /clients",
    "GET /templates",
    "POST /templates",
    "GET /users",
    "POST /users",
    "GET /webhooks",
    "POST /clients/import-preview",
    "POST /clients/import",
}


@dataclass(frozen=True)
class Call:
    operation: str
    method: str
    url: str
    kwargs: dict[str, Any]


def call(operation: str, tenant: Tenant) -> Call:
    method, path = operation.split(" ", 1)
    spec = dict(OPERATIONS[operation])
    ids = dict(tenant.ids)
    for name in ("document", "integration"):  # this operation needs another row of that name
        if name in spec:
            ids[name] = ids[spec.pop(name)]

    def fill(value: Any) -> Any:
        if isinstance(value, str) and re.fullmatch(r"\{\w+\}", value):
            return ids[value[1:-1]]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    url = re.sub(
        r"\{(\w+)\}",
        lambda m: str(ids[PARAMS[m.group(1)]]) if m.group(1) in PARAMS else LITERALS[m.group(1)],
        path,
    )
    kwargs = {k: (v if k == "files" else fill(v)) for k, v in spec.items()}
    return Call(operation, method, "/api/v1" + url, kwargs)
