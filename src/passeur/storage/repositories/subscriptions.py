"""Whether a partner listens to events: it has an active webhook subscription."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists

from passeur.storage.tables import webhook_subscriptions


def partner_listens(partner_id: Any) -> Any:
    """A `partner_listens` column for a read that also needs the answer (an approval, a
    worker recording deliveries): the partner `partner_id` (a column or a parameter) has
    an active subscription."""
    return (
        exists()
        .where(
            webhook_subscriptions.c.partner_id == partner_id,
            webhook_subscriptions.c.active.is_(True),
        )
        .label("partner_listens")
    )
