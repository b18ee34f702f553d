"""A real SMTP server on loopback (aiosmtpd), with STARTTLS or TLS, AUTH, and faults.

It runs on its own thread (aiosmtpd's Controller), so sync and async code can use it. It
records every accepted message (envelope, bytes, Message-ID) and has switches for what
inboxes do: refuse or defer a recipient, refuse every login, refuse the message with a
given reply, limit the size (552), and drop the connection after the message's data
arrived but before the server answered (the case where a sender cannot know whether the
message went through).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from passeur.sandbox.tls import SandboxTls


@dataclass
class SmtpFaults:
    refuse_recipients: set[str] = field(default_factory=set)  # 550
    defer_recipients: set[str] = field(default_factory=set)  # 450
    refuse_senders: set[str] = field(default_factory=set)  # 553
    refuse_auth: bool = False  # every login gets 535
    data_reply: str | None = None  # e.g. "554 5.7.1 Message refused as spam"
    drop_mid_message: bool = False


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    message_id: str
    user: str  # who logged in ("" without AUTH)
    secure: bool  # the session was encrypted

    def parsed(self) -> Any:
        return BytesParser(policy=policy.default).parsebytes(self.data)


class _Handler:
    def __init__(self, sandbox: SmtpSandbox) -> None:
        self.sandbox = sandbox

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.sandbox.users and not session.authenticated:
            return "530 5.7.0 Authentication required"
        if address in self.sandbox.faults.refuse_senders:
            return "553 5.7.1 Sender address not allowed"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        faults = self.sandbox.faults
        if address in faults.refuse_recipients:
            return "550 5.1.1 Mailbox unavailable"
        if address in faults.defer_recipients:
            return "450 4.2.1 Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        faults = self.sandbox.faults
        if faults.drop_mid_message:
            assert server.transport is not None
            server.transport.close()  # the data arrived; the sender never hears back
            return "421 4.3.0 Closing"
        if faults.data_reply:
            return faults.data_reply
        data = envelope.original_content or b""
        headers = BytesParser(policy=policy.default).parsebytes(data, headersonly=True)
        self.sandbox.record(
            ReceivedMail(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=data,
                message_id=str(headers.get("Message-ID", "")).strip(),
                user=str(session.auth_data or ""),
                secure=session.ssl is not None or _encrypted(server),
            )
        )
        return "250 2.0.0 OK: queued"


class SmtpSandbox:
    """`security`: "starttls" (offered, and required before AUTH), "tls" (from the first
    byte) or "none". With `users`, a login is required before sending."""

    def __init__(
        self,
        *,
        users: dict[str, str] | None = None,
        security: str = "starttls",
        tls: SandboxTls | None = None,
        tls_folder: Path | None = None,
        size_limit: int | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        if security != "none" and (tls is None or tls_folder is None):
            raise ValueError("STARTTLS or TLS needs a certificate (tls) and a folder for it")
        self.users = dict(users or {})
        self.security = security
        self.tls, self.tls_folder = tls, tls_folder
        self.size_limit = size_limit
        self.host = host
        self.faults = SmtpFaults()
        self.messages: list[ReceivedMail] = []
        self.logins: list[tuple[str, bool]] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None
        self.port = 0

    def record(self, mail: ReceivedMail) -> None:
        with self._lock:
            self.messages.append(mail)

    def message_ids(self) -> set[str]:
        with self._lock:
            return {m.message_id for m in self.messages}

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = data.login.decode(), data.password.decode()
        ok = not self.faults.refuse_auth and self.users.get(user) == password
        with self._lock:
            self.logins.append((user, ok))
        if not ok:
            # handled=False makes aiosmtpd answer 535 (with True the client would hang).
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=user)

    def start(self) -> SmtpSandbox:
        # Bound here and handed to the server: the port is ours from the start (aiosmtpd's
        # Controller(port=0) cannot probe its readiness, and a port picked by binding and
        # closing a socket may be taken by another process before the server binds it).
        listening = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        listening.bind((self.host, 0))
        self.port = int(listening.getsockname()[1])
        options: dict[str, Any] = {
            "hostname": self.host,
            "port": self.port,
            "server_hostname": "sandbox.passeur.test",
            "data_size_limit": self.size_limit,
            "enable_SMTPUTF8": False,
        }
        if self.users:
            # Implicit TLS is invisible to aiosmtpd's session, so it must not wait for a
            # STARTTLS that never comes; the login itself is required in handle_MAIL.
            options.update(
                authenticator=self._authenticate,
                auth_require_tls=self.security == "starttls",
            )
        if self.security != "none":
            assert self.tls is not None and self.tls_folder is not None
            context = self.tls.server_context(self.tls_folder)
            if self.security == "tls":
                options["ssl_context"] = context
            else:
                options.update(tls_context=context, require_starttls=True)
        self._controller = _BoundController(listening, _Handler(self), **options)
        try:
            self._controller.start()
        except BaseException:
            listening.close()
            raise
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class _BoundController(Controller):
    """aiosmtpd's threaded controller, serving on a socket bound beforehand."""

    def __init__(self, listening: socket.socket, handler: Any, **options: Any) -> None:
        super().__init__(handler, **options)
        self._listening = listening

    def _create_server(self) -> Coroutine[Any, Any, asyncio.Server]:
        return self.loop.create_server(
            self._factory_invoker, sock=self._listening, ssl=self.ssl_context
        )


def _encrypted(server: SMTP) -> bool:
    transport = server.transport
    return transport is not None and transport.get_extra_info("ssl_object") is not None
