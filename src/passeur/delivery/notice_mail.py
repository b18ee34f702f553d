"""The e-mail that tells a person of their notifications, in their language: one
notification, or a digest of several, each cause a line with its integration and reason.

Its Message-ID is the batch's mail key, the same on every try, so that a mail sent again
after a worker died (SMTP cannot say whether the first one went through) is recognised
as the same message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from passeur.connectors.email.message import Mail
from passeur.domain.notices import TITLES, Cause
from passeur.web.i18n import translations

SUBJECT_ONE = "passeur: %(title)s"
SUBJECT_DIGEST = "passeur: %(count)s notifications"
INTRO = "passeur needs you for the integrations below."
REASON = "Reason: %(reason)s"
OUTRO = (
    "You receive this because you administer the firm or are assigned to the client. "
    "Choose how often in passeur, under Notifications."
)
MESSAGES = (SUBJECT_ONE, SUBJECT_DIGEST, INTRO, REASON, OUTRO)
_CONTROLS = str.maketrans({c: " " for c in "\r\n\t\x0b\x0c\x85\u2028\u2029"})


@dataclass(frozen=True)
class Line:
    cause: Cause
    details: dict[str, Any]


def title(cause: Cause, details: dict[str, Any], gettext: Any) -> str:
    """One notification's sentence, translated, with the integration's names."""
    integration = f"{details.get('installation', '')} ({details.get('client', '')})"
    values = {"integration": integration, "days": details.get("days", ""),
              "date": details.get("date", "")}  # fmt: skip
    return str(gettext(TITLES[cause]) % values).translate(_CONTROLS)


def compose(
    key: str, sender: str, sender_name: str, to: str, locale: str, lines: Sequence[Line]
) -> Mail:
    _ = translations(locale or "en").gettext
    titles = [title(line.cause, line.details, _) for line in lines]
    if len(lines) == 1:
        subject = _(SUBJECT_ONE) % {"title": titles[0]}
    else:
        subject = _(SUBJECT_DIGEST) % {"count": len(lines)}
    body = [_(INTRO), ""]
    for line, text in zip(lines, titles, strict=True):
        body.append(f"- {text}")
        if reason := str(line.details.get("reason") or ""):
            body.append("  " + _(REASON) % {"reason": reason.translate(_CONTROLS)})
    body += ["", _(OUTRO)]
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address(display_name=sender_name, addr_spec=sender)
    msg["To"] = to
    msg["Subject"] = subject[:250]
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = f"<{key}@{sender.rsplit('@', 1)[1]}>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a robot
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content("\n".join(body) + "\n")
    return Mail(sender, (to,), msg["Message-ID"], msg.as_bytes())
