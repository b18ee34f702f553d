"""Notifications' rules: their causes, how often a person is mailed, and what they say.

A notification tells a person of the firm that an integration needs them. It is shown in
the UI and mailed, immediately or in an hourly or daily digest (the firm's setting, which
each user may override), and never more than once an hour per integration and cause.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from passeur.domain.errors import InvalidInput

CAP = timedelta(hours=1)  # one mail per recipient, integration and cause within this
DAILY_AT = 6  # daily digests leave at 06:00 UTC (07:00 or 08:00 in Brussels)
STALE_DAYS = 3  # default: warn after this many days without a delivered export
MAX_STALE_DAYS = 90
GRANT_WARNING = timedelta(days=7)  # warn this long before a sign-in runs out


class Cause(StrEnum):
    INTEGRATION_NEEDS_ATTENTION = "integration_needs_attention"
    INTEGRATION_DISCONNECTED = "integration_disconnected"
    EXPORT_FAILED = "export_failed"
    EXPORT_NEEDS_ATTENTION = "export_needs_attention"
    NO_RECENT_EXPORT = "no_recent_export"
    GRANT_EXPIRING = "grant_expiring"


class Mode(StrEnum):
    IMMEDIATE = "immediate"
    HOURLY = "hourly"
    DAILY = "daily"


class MailState(StrEnum):
    WAITING = "waiting"  # to be mailed at mail_due_at
    SENDING = "sending"  # claimed under a lease (mail_due_at: when the lease runs out)
    SENT = "sent"
    CAPPED = "capped"  # an earlier mail of the hour told of the same cause
    FAILED = "failed"  # the server refused it for good; still shown in the UI


# What each cause says, in English (the catalogues translate it, in the UI and in mails).
# Placeholders: %(integration)s ("Dropbox for Client X") and %(days)s.
TITLES: dict[Cause, str] = {
    Cause.INTEGRATION_NEEDS_ATTENTION: "%(integration)s needs attention",
    Cause.INTEGRATION_DISCONNECTED: "%(integration)s was disconnected",
    Cause.EXPORT_FAILED: "An export to %(integration)s failed",
    Cause.EXPORT_NEEDS_ATTENTION: "An export to %(integration)s needs attention",
    Cause.NO_RECENT_EXPORT: "Nothing reached %(integration)s for %(days)s days while documents "
    "were waiting",
    Cause.GRANT_EXPIRING: "The sign-in of %(integration)s runs out on %(date)s: sign in again "
    "before then",
}
MODE_LABELS: dict[Mode, str] = {
    Mode.IMMEDIATE: "Immediately",
    Mode.HOURLY: "Hourly digest",
    Mode.DAILY: "Daily digest",
}


def parse_mode(value: str, *, allow_empty: bool = False) -> Mode | None:
    """A mode as given in a form or on the command line ("" keeps the firm's, if allowed)."""
    if value == "" and allow_empty:
        return None
    try:
        return Mode(value)
    except ValueError:
        known = ", ".join(m.value for m in Mode)
        raise InvalidInput(f"choose how to be told: {known}", field="mode") from None


def check_stale_days(days: int) -> int:
    if not 1 <= days <= MAX_STALE_DAYS:
        raise InvalidInput(
            f"the days without a delivered export must be 1 to {MAX_STALE_DAYS}",
            field="stale_days",
        )
    return days


def mail_due(mode: Mode, now: datetime) -> datetime:
    """When a notification made now is mailed: now, at the next full hour, or at the next
    DAILY_AT; every notification waiting for the same moment goes in one mail."""
    if mode is Mode.IMMEDIATE:
        return now
    hour = now.replace(minute=0, second=0, microsecond=0)
    if mode is Mode.HOURLY:
        return hour + timedelta(hours=1)
    day = hour.replace(hour=DAILY_AT)
    return day if day > now else day + timedelta(days=1)
