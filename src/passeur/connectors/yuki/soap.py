"""Yuki's SOAP 1.1 calls: the envelope, the `SOAPAction`, and what an answer means.

A call answers `<{Op}Response><{Op}Result>` with 200, or a SOAP fault with 500: its
`faultcode` says whose fault it is (soap:Client: what we sent; soap:Server: Yuki's side)
and its `faultstring` why, in words. `classify` turns a fault into our error classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from lxml import etree

from passeur.connectors import retry_after
from passeur.connectors.errors import (
    ConnectorError,
    Misconfigured,
    NeedsReauth,
    RateLimited,
    Rejected,
    TransientError,
)
from passeur.connectors.outbound import Outbound
from passeur.domain.errors import InvalidInput
from passeur.formats.xml import parse_xml

NS = "http://www.theyukicompany.com/"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
READ_AT_MOST = 1024 * 1024
DAY_LIMIT_WAIT = 3600.0  # Yuki's day boundary is not documented: look again in an hour


@dataclass(frozen=True)
class Reply:
    result: etree._Element | None  # the {Op}Result element of a success
    fault_code: str = ""  # "soap:Client" or "soap:Server" of a fault
    fault: str = ""  # the faultstring

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def session_refused(self) -> bool:
        return "session" in self.fault.lower()


def envelope(operation: str, args: list[tuple[str, str]]) -> bytes:
    inner = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in args)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body>'
        f'<{operation} xmlns="{NS}">{inner}</{operation}>'
        "</soap:Body></soap:Envelope>"
    ).encode()


async def call(http: Outbound, url: str, operation: str, args: list[tuple[str, str]]) -> Reply:
    """One operation; a fault is a Reply, anything that is neither is raised classified."""
    answer = await http.request(
        "POST",
        url,
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}{operation}"'},
        body=envelope(operation, args),
        read_at_most=READ_AT_MOST,
    )
    if answer.status in (200, 500) and answer.complete:
        try:
            root = parse_xml(answer.body)
        except InvalidInput:
            root = None
        if root is not None:
            result = root.find(f".//{{{NS}}}{operation}Result")
            if answer.status == 200 and result is not None:
                return Reply(result)
            fault = root.find(f".//{{{SOAP}}}Fault")
            if fault is not None:
                return Reply(
                    None, fault.findtext("faultcode") or "", fault.findtext("faultstring") or ""
                )
    if answer.status in (429, 503):
        wait = retry_after.parse(answer.headers.get("retry-after"))
        raise RateLimited(f"Yuki asked us to slow down (HTTP {answer.status})", retry_after=wait)
    if answer.status >= 500 or answer.status == 200:
        raise TransientError(f"Yuki answered HTTP {answer.status} without a SOAP answer")
    raise Misconfigured(f"Yuki answered HTTP {answer.status} {answer.reason} to {operation}")


def classify(reply: Reply, doing: str) -> ConnectorError:
    """A fault as an error class, Yuki's words in the message."""
    said = reply.fault[:300] or "no reason given"
    text = said.lower()
    if "access key" in text:
        return NeedsReauth(f"Yuki refused the web-service access key: {said}")
    if reply.session_refused:
        return NeedsReauth(f"Yuki refused a new session: {said}")
    if "calls" in text and ("today" in text or "per day" in text or "maximum" in text):
        return RateLimited(f"Yuki's daily allowance is used up: {said}", retry_after=DAY_LIMIT_WAIT)
    if "administration" in text or "no active database" in text or "folder" in text:
        return Misconfigured(f"Yuki refused {doing}: {said}")
    if reply.fault_code.endswith("Client"):
        return Rejected(f"Yuki refused {doing}: {said}")
    return TransientError(f"Yuki failed {doing}: {said}")
