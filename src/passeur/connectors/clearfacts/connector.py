"""ClearFacts: upload each invoice to the client's administration's inbox.

* The administration is named by its VAT number; the invoice type is PURCHASE or SALE,
  from the document's family. Which bytes go is `upload_file` (one small function): the
  original UBL when there is one, else the PDF.
* `vet` asks ClearFacts for the administrations this login reaches when an integration
  is saved: a VAT number that is not among them is refused, with the reason.
* A refused upload is read: when the administration has gone (or this login lost it),
  the integration needs a person (Misconfigured); when ClearFacts hides its own failure
  ("Internal server error"), another try; otherwise the document is rejected with
  ClearFacts' own words and not tried again.
* Redelivery: ClearFacts has no idempotency key and no way to find a document but by the
  id its upload returns (docs/clearfacts.md). An export delivered in this process is not
  uploaded again (its receipt is remembered); an upload whose answer was lost, or a
  worker killed between ClearFacts' answer and the ledger's commit, can leave a second
  copy in the ClearFacts inbox. That is ClearFacts' limit, and the guide says so.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

from passeur.connectors.base import CheckResult, Connector, Parcel, ParcelFile, Receipt
from passeur.connectors.clearfacts.api import (
    ADMINISTRATIONS,
    ClearfactsApi,
    Reply,
    Upload,
    failure,
    internal,
)
from passeur.connectors.clearfacts.extension import EXTENSION, vat_digits
from passeur.connectors.errors import ConnectorError, Misconfigured, Rejected, TransientError
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Outbound
from passeur.domain.documents import Family
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Target
from passeur.domain.network import NetworkPolicy

INVOICE_TYPES = {Family.PURCHASES: "PURCHASE", Family.SALES: "SALE"}
REMEMBERED = 4096  # receipts of exports delivered by this process


def upload_file(parcel: Parcel) -> ParcelFile:
    """The bytes ClearFacts gets: the original when it is a UBL (ClearFacts reads Peppol
    BIS 3, UBL.BE and e-fff), else the document's PDF, else the original (a PDF or an
    image as received). Switch here to send an e-fff made by formats/ instead."""
    if parcel.main.media_type in ("application/xml", "text/xml"):
        return parcel.main
    pdf = next((f for f in parcel.files if f.role == "pdf"), None)
    return pdf if pdf is not None else parcel.main


class ClearfactsConnector(Connector):
    extension = EXTENSION

    def __init__(self, *, network: NetworkPolicy | None = None) -> None:
        super().__init__(network=network)
        self._http: Outbound | None = None
        self._delivered: OrderedDict[str, Receipt] = OrderedDict()

    def outbound(self) -> Outbound:
        if self._http is None:
            self._http = Outbound(Guard(self.network), max_connections=32)
        return self._http

    async def check(self, target: Target) -> CheckResult:
        found = await self._administrations(ClearfactsApi(self.outbound(), target))
        wanted = target.get("vat_number")
        if wanted:
            name = _administration(found, str(wanted))
            return CheckResult(
                True,
                f"Signed in to ClearFacts; administration {name} found.",
                {"count": len(found)},
            )
        return CheckResult(
            True,
            f"Signed in to ClearFacts; {len(found)} administration(s) reachable.",
            {"count": len(found)},
        )

    async def vet(self, target: Target) -> dict[str, Any]:
        """Refuse an integration whose administration ClearFacts does not know. When
        ClearFacts cannot be asked (not signed in yet, unreachable) the integration is
        saved: its deliveries will say what is wrong, the way they always do."""
        try:
            await self.check(target)
        except Misconfigured as exc:
            raise InvalidInput(exc.message, field="vat_number") from None
        except ConnectorError:
            pass
        return {}

    async def deliver(self, target: Target, parcel: Parcel) -> Receipt:
        held = self._delivered.get(parcel.export_key)
        if held is not None:
            return held  # delivered by this process already: never uploaded twice here
        invoice_type = INVOICE_TYPES.get(parcel.document.family)
        if invoice_type is None:
            raise Rejected(f"ClearFacts takes purchases and sales, not {parcel.document.family}")
        chosen = upload_file(parcel)
        vat = vat_digits(str(target.get("vat_number") or ""))
        if not vat:
            raise Misconfigured("the integration has no administration VAT number")
        api = ClearfactsApi(self.outbound(), target)
        variables = {"vatNumber": vat, "fileName": chosen.name, "invoiceType": invoice_type}
        upload = Upload(chosen.name, chosen.media_type, chosen.size, chosen.open)
        reply = await api.upload(variables, upload)
        error = failure(reply, "the upload")
        if error is not None:
            raise error
        uploaded = (reply.data or {}).get("uploadFile") if isinstance(reply.data, dict) else None
        if not reply.errors and isinstance(uploaded, dict) and uploaded.get("uuid"):
            receipt = Receipt(
                location=str(uploaded["uuid"]),
                size=chosen.size,
                sha256=_sha256(chosen),
                details={
                    "administration": vat,
                    "invoice_type": invoice_type,
                    "file_name": chosen.name,
                    "pages": uploaded.get("amountOfPages"),
                },
            )
            self._remember(parcel.export_key, receipt)
            return receipt
        raise await self._refusal(api, reply, vat)

    async def _refusal(self, api: ClearfactsApi, reply: Reply, vat: str) -> ConnectorError:
        """Why an upload was refused: the administration, ClearFacts itself, or the document."""
        said = "; ".join(reply.errors) or "no reason given"
        if internal(reply):
            return TransientError(f"ClearFacts failed on the upload ({said})")
        found = await self._administrations(api)
        if not any(a.get("companyNumber") == vat for a in found):
            return Misconfigured(_missing(vat))
        return Rejected(f"ClearFacts refused the document: {said}")

    async def _administrations(self, api: ClearfactsApi) -> list[dict[str, object]]:
        reply = await api.query(ADMINISTRATIONS)
        error = failure(reply, "listing the administrations")
        if error is not None:
            raise error
        if reply.errors:
            said = "; ".join(reply.errors)
            if internal(reply):
                raise TransientError(f"ClearFacts failed listing the administrations ({said})")
            raise Misconfigured(f"ClearFacts refused to list the administrations: {said}")
        found = (reply.data or {}).get("administrations") if isinstance(reply.data, dict) else None
        return [a for a in found or () if isinstance(a, dict)]

    def _remember(self, key: str, receipt: Receipt) -> None:
        self._delivered[key] = receipt
        while len(self._delivered) > REMEMBERED:
            self._delivered.popitem(last=False)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


def _administration(found: list[dict[str, object]], wanted: str) -> str:
    vat = vat_digits(wanted)
    for administration in found:
        if administration.get("companyNumber") == vat:
            return str(administration.get("name") or vat)
    raise Misconfigured(_missing(vat))


def _missing(vat: str) -> str:
    return (
        f"ClearFacts has no administration with VAT number BE{vat} that this login can "
        "reach: check the number, or give this login access to it in ClearFacts"
    )


def _sha256(file: ParcelFile) -> str:
    if file.sha256:
        return file.sha256
    digest = hashlib.sha256()
    with file.open() as stream:
        while piece := stream.read(1024 * 1024):
            digest.update(piece)
    return digest.hexdigest()
