"""The actor behind a request: built from the signed-in user, fresh for each request."""

from __future__ import annotations

from passeur.bootstrap import App
from passeur.domain.access import Actor, actor_of
from passeur.domain.partners import User
from passeur.storage.db import reading
from passeur.storage.repositories import partners as rows


def for_user(app: App, user_id: int) -> Actor:
    """The user's roles with their assignments (or their client) as they are now."""
    return signed_in(app, user_id)[1]


def signed_in(app: App, user_id: int) -> tuple[User, Actor]:
    """The user and their actor, read together (a page needs both: name, language, rights)."""
    with reading(app.engine) as conn:
        user = rows.find_user(conn, user_id)
        assigned = {} if user.is_business else rows.assigned_client_ids(conn, user_id)
    return user, actor_of(user, assigned)
