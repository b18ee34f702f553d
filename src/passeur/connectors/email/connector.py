"""E-mail: one message per document to the client's accounting inbox, over SMTP.

Routing: purchases (purchase credit notes included) go to the purchases address, sales
to the sales address, statements (CODA as .cod) to the statements address. A client
whose address for a family is empty does not receive that family by e-mail at all: no
export is made for it (Extension.narrow), which is what an accountant who leaves the
sales address empty means. If the address is removed while an export waits, that export
fails as rejected with a clear reason rather than parking the client's other documents.

SMTP cannot promise a single copy: when the connection drops after the data went out,
the message may have arrived, and the retry sends it again. It then carries the same
Message-ID, which lets inboxes that drop duplicates do so and people recognise a resend.

Errors: a refused login is NeedsReauth; a refused recipient or sender (5xx) is
Misconfigured, since a person must fix the address; a message refused for its size or
content is Rejected; 4xx replies, timeouts and dropped connections are transient. The
SMTP host passes the same network policy as HTTP endpoints (connectors/network.py).
"""

from __future__ import annotations

import socket
import ssl

import aiosmtplib

from passeur.connectors.base import CheckResult, Connector, Parcel, Receipt
from passeur.connectors.email import message
from passeur.connectors.email.extension import EXTENSION
from passeur.connectors.errors import (
    ConnectorError,
    Misconfigured,
    NeedsReauth,
    Rejected,
    TransientError,
)
from passeur.connectors.network import (
    AddressRefused,
    Guard,
    Resolver,
    open_socket,
    system_resolver,
)
from passeur.connectors.probe import probe_parcel
from passeur.connectors.tls import client_context, is_certificate_error
from passeur.domain.extensions import Target
from passeur.domain.network import NetworkPolicy


class EmailConnector(Connector):
    extension = EXTENSION

    def __init__(
        self,
        *,
        network: NetworkPolicy | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        super().__init__(network=network)
        self._guard = Guard(self.network, resolver or system_resolver)
        self._contexts: dict[str | None, ssl.SSLContext] = {}
        self._helo = socket.gethostname()  # not getfqdn(): that may block on DNS

    async def check(self, target: Target) -> CheckResult:
        """Connect, secure the connection and log in; no message is sent."""
        smtp = await self._open(target)
        try:
            await smtp.noop()
        except aiosmtplib.SMTPException as exc:
            raise _classify(exc, target) from None
        finally:
            await _quit(smtp)
        how = {"starttls": "STARTTLS", "tls": "TLS"}.get(str(target.get("security")), "no TLS")
        login = f"logged in as {target.get('username')}" if target.get("username") else "no login"
        return CheckResult(
            ok=True,
            message=f"Connected to {target.get('host')}:{target.get('port')} with {how}; {login}.",
            details={"security": target.get("security"), "login": bool(target.get("username"))},
        )

    async def deliver(self, target: Target, parcel: Parcel) -> Receipt:
        family = parcel.document.family
        address = message.destination(target, family)
        if not address:
            raise Rejected(
                f"this integration has no {family.value} address (it was removed after the "
                "document was queued); nothing was sent"
            )
        mail = self._compose(target, parcel, (address,))
        reply = await self.send_mail(target, mail)
        return Receipt(
            location=mail.message_id,
            size=parcel.main.size,
            sha256=parcel.main.sha256,
            details={"to": address, "message_bytes": len(mail.data), "reply": reply},
        )

    async def test_delivery(self, target: Target) -> CheckResult:
        """Send one test message to every address the integration has (else to the sender)
        and report what the server said about each."""
        found = (message.destination(target, f) for f in message.ADDRESS_FIELDS)
        recipients = tuple(dict.fromkeys(a for a in found if a)) or (
            str(target.get("sender_address")),
        )
        parcel = probe_parcel()
        try:
            mail = self._compose(target, parcel, recipients)
            smtp = await self._open(target)
            try:
                refused, reply = await smtp.sendmail(mail.sender, list(recipients), mail.data)
            finally:
                await _quit(smtp)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            said = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            return CheckResult(ok=False, message=f"The server refused every recipient: {said}")
        except aiosmtplib.SMTPException as exc:
            error = _classify(exc, target)
            return CheckResult(ok=False, message=f"Test message failed: {error.message}")
        except ConnectorError as exc:
            return CheckResult(ok=False, message=f"Test message failed: {exc.message}")
        accepted = [r for r in recipients if r not in refused]
        text = f"The server accepted the test message for {', '.join(accepted)} ({reply})"
        if refused:
            text += "; it refused " + "; ".join(
                f"{r}: {code} {said}" for r, (code, said) in refused.items()
            )
        return CheckResult(
            ok=not refused,
            message=text,
            details={"accepted": accepted, "refused": sorted(refused), "reply": reply},
        )

    def _compose(self, target: Target, parcel: Parcel, recipients: tuple[str, ...]) -> message.Mail:
        limit = int(target.get("max_message_mb") or 20) * message.MB
        files = message.attachments(parcel, str(target.get("attachments") or "original"))
        if message.estimated_size(files) > limit:  # before reading anything
            raise _too_big(message.estimated_size(files), limit)
        mail = message.compose(target, parcel, recipients)
        if len(mail.data) > limit:
            raise _too_big(len(mail.data), limit)
        return mail

    async def send_mail(self, target: Target, mail: message.Mail) -> str:
        """Send a composed message (also passeur's own notifications, through the same
        connection, TLS and login code, and the same error classes)."""
        smtp = await self._open(target)
        try:
            _, reply = await smtp.sendmail(mail.sender, list(mail.recipients), mail.data)
        except aiosmtplib.SMTPException as exc:
            raise _classify(exc, target) from None
        finally:
            await _quit(smtp)
        return reply

    async def _open(self, target: Target) -> aiosmtplib.SMTP:
        """A connected, secured and (when configured) logged-in SMTP session."""
        host, port = str(target.get("host")), int(target.get("port") or 587)
        security = str(target.get("security") or "starttls")
        timeout = float(target.get("timeout") or 30)
        try:
            sock = await open_socket(self._guard, host, port, timeout)
        except AddressRefused as exc:
            raise Misconfigured(str(exc)) from None
        except (OSError, TimeoutError) as exc:
            raise _unreachable(host, port, exc, timeout) from None
        smtp = aiosmtplib.SMTP(
            hostname=host,
            sock=sock,
            use_tls=security == "tls",
            start_tls=security == "starttls",  # required when chosen, never silently skipped
            tls_context=self._context(target.get("ca_bundle") or None),
            timeout=timeout,
            local_hostname=self._helo,
        )
        try:
            await smtp.connect()
            if target.get("username"):
                await _login(smtp, str(target.get("username")), target.secrets.get("password", ""))
        except (aiosmtplib.SMTPException, OSError) as exc:
            if smtp.transport is None:
                sock.close()  # else the transport owns the socket and closes it
            smtp.close()
            if isinstance(exc, aiosmtplib.SMTPException):
                raise _classify(exc, target) from None
            raise _connection_failed(f"{host}:{port}", exc) from None
        return smtp

    def _context(self, ca_bundle: str | None) -> ssl.SSLContext:
        if ca_bundle not in self._contexts:
            self._contexts[ca_bundle] = client_context(ca_bundle)
        return self._contexts[ca_bundle]


async def _login(smtp: aiosmtplib.SMTP, username: str, password: str) -> None:
    """One attempt with the best method both sides know. aiosmtplib's login() tries every
    method in turn, so a wrong password would count as several failures on servers that
    lock an account after a few."""
    if smtp.is_ehlo_or_helo_needed:  # after STARTTLS the server is greeted again
        await smtp.ehlo()
    methods = smtp.supported_auth_methods
    if not methods:
        raise aiosmtplib.SMTPException("The SMTP AUTH extension is not supported by this server.")
    await getattr(smtp, f"auth_{methods[0].replace('-', '')}")(username, password)


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    try:
        await smtp.quit()
    except aiosmtplib.SMTPException:
        smtp.close()


def _too_big(size: int, limit: int) -> Rejected:
    return Rejected(
        f"the message would be {size / message.MB:.1f} MB, above this installation's limit "
        f"of {limit / message.MB:.0f} MB (attachments grow by a third in e-mail); send a "
        "smaller file or choose fewer attachments"
    )


def _unreachable(host: str, port: int, exc: BaseException, timeout: float) -> TransientError:
    if isinstance(exc, socket.gaierror):
        return TransientError(f"cannot resolve {host!r}: {exc.strerror}")
    if isinstance(exc, TimeoutError):
        return TransientError(f"{host}:{port} did not answer within {timeout:.0f} s")
    return TransientError(f"cannot reach {host}:{port}: {getattr(exc, 'strerror', None) or exc}")


def _connection_failed(where: str, exc: BaseException) -> ConnectorError:
    if is_certificate_error(exc):
        return Misconfigured(
            f"the TLS certificate of {where} cannot be verified; if it comes from a company "
            "CA, add that CA to the installation's CA bundle"
        )
    return TransientError(f"the connection to {where} failed: {exc}")


def _classify(exc: aiosmtplib.SMTPException, target: Target) -> ConnectorError:
    """Turn what the SMTP server (or the connection) did into one of our error classes."""
    where = f"{target.get('host')}:{target.get('port')}"
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return NeedsReauth(
            f"{where} refused the login of {target.get('username')!r} ({exc.code} {exc.message})"
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refused = exc.recipients
        said = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in refused)
        if any(r.code >= 500 for r in refused):
            return Misconfigured(f"{where} refused the recipient ({said}); check the address")
        return TransientError(f"{where} deferred the recipient ({said})")
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        if exc.code == 552:  # SIZE given with MAIL FROM is above the server's limit (RFC 1870)
            return Rejected(f"{where} refused the message for its size ({exc.code} {exc.message})")
        if exc.code >= 500:
            return Misconfigured(
                f"{where} refused the sender {exc.sender} ({exc.code} {exc.message}); put it "
                "on the server's or inbox's allow-list"
            )
        return TransientError(f"{where} deferred the sender ({exc.code} {exc.message})")
    if isinstance(exc, aiosmtplib.SMTPDataError):
        if exc.code >= 500:
            return Rejected(f"{where} refused the message ({exc.code} {exc.message})")
        return TransientError(f"{where} deferred the message ({exc.code} {exc.message})")
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPTimeoutError):
        return TransientError(f"the connection to {where} was lost: {exc}")
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPConnectTimeoutError):
        return _connection_failed(where, exc)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if exc.code == 530:  # authentication required
            return NeedsReauth(f"{where} requires a login ({exc.code} {exc.message})")
        if exc.code < 500:
            return TransientError(f"{where} answered {exc.code} {exc.message}")
        return Misconfigured(f"{where} answered {exc.code} {exc.message}")
    text = str(exc)
    if "STARTTLS" in text.upper():
        return Misconfigured(f"{where} does not offer STARTTLS; choose TLS or ask for STARTTLS")
    if "AUTH" in text.upper():
        return Misconfigured(f"{where} does not offer a login (AUTH): {text}")
    if is_certificate_error(exc):
        return _connection_failed(where, exc)
    return TransientError(f"{where}: {text}")
