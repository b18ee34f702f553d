"""Who may do what: every role against every action, on an assigned, a view-only, an
unassigned and another partner's client."""

from __future__ import annotations

from typing import Any

import pytest

from passeur.domain.access import (
    GRANTS,
    OPERATOR,
    Action,
    Actor,
    actor_of,
    clients_within,
    may,
    require,
)
from passeur.domain.errors import Forbidden, NotFound
from passeur.domain.partners import Access, Role, User

PARTNER, OTHER_PARTNER = 1, 2
EDITED, VIEWED, UNASSIGNED = 10, 11, 12  # client ids of partner 1
ASSIGNED = {EDITED: Access.EDIT, VIEWED: Access.VIEW}


def user(*roles: Role, client_id: int | None = None) -> Actor:
    person = User(7, PARTNER, "x@firm.be", "X", frozenset(roles), client_id)
    return actor_of(person, ASSIGNED)


ADMIN = user(Role.ADMINISTRATOR)
MANAGER = user(Role.CLIENT_MANAGER)
ACCOUNTANT = user(Role.ACCOUNTANT)
BUSINESS = user(Role.BUSINESS, client_id=EDITED)  # the business user of client 10

A = Action
Y, N = True, False
# (action, operator, administrator, client manager, accountant, business user): whether
# each may do the action at all, in its own partner (no client named).
ROLE_TABLE = [
    (A.MANAGE_USERS, Y, Y, N, N, N),
    (A.SEE_USERS, Y, Y, Y, N, N),
    (A.MANAGE_TEAM, Y, Y, Y, N, N),
    (A.MANAGE_CLIENTS, Y, Y, Y, N, N),
    (A.SEE_CLIENTS, Y, Y, Y, Y, Y),
    (A.MANAGE_INSTALLATIONS, Y, Y, N, N, N),
    (A.SEE_INSTALLATIONS, Y, Y, N, N, N),
    (A.MANAGE_INTEGRATIONS, Y, Y, N, N, N),
    (A.SEE_INTEGRATIONS, Y, Y, N, Y, N),
    (A.SEE_DOCUMENTS, Y, Y, N, Y, Y),
    (A.UPLOAD, Y, Y, N, Y, Y),
    (A.RELEASE, Y, N, N, N, Y),
    (A.PROCESS, Y, Y, N, Y, N),
    (A.SEE_EXPORTS, Y, Y, N, Y, N),
    (A.RETRY_EXPORTS, Y, Y, N, Y, N),
    (A.MANAGE_TEMPLATES, Y, Y, N, N, N),
    (A.MANAGE_API_CLIENTS, Y, Y, N, N, N),
    (A.SEE_TEMPLATES, Y, Y, Y, N, N),
    (A.SEE_AUDIT, Y, Y, N, N, N),
]
ACTORS = [OPERATOR, ADMIN, MANAGER, ACCOUNTANT, BUSINESS]


def test_the_table_covers_every_action() -> None:
    assert {row[0] for row in ROLE_TABLE} == set(Action)


@pytest.mark.parametrize("row", ROLE_TABLE, ids=lambda row: row[0].name)
def test_what_each_role_may_do_at_all(row: tuple[Any, ...]) -> None:
    action, *expected = row
    for actor, allowed in zip(ACTORS, expected, strict=True):
        assert may(actor, action, PARTNER) is allowed, (actor.label, actor.roles, action)
        if not allowed:
            with pytest.raises(Forbidden, match=f"cannot {action.value}"):
                require(actor, action, PARTNER)


# (actor, action, client, expected): None allowed, else the error class and message.
CLIENT_TABLE = [
    (ADMIN, A.PROCESS, UNASSIGNED, None),  # administrators reach every client
    (ADMIN, A.MANAGE_INTEGRATIONS, VIEWED, None),
    (MANAGER, A.MANAGE_CLIENTS, UNASSIGNED, None),  # client managers too, for clients only
    (MANAGER, A.SEE_DOCUMENTS, EDITED, (Forbidden, "client manager\\) cannot see documents")),
    (ACCOUNTANT, A.SEE_DOCUMENTS, EDITED, None),
    (ACCOUNTANT, A.SEE_DOCUMENTS, VIEWED, None),
    (ACCOUNTANT, A.SEE_EXPORTS, VIEWED, None),
    (ACCOUNTANT, A.SEE_INTEGRATIONS, VIEWED, None),
    (ACCOUNTANT, A.PROCESS, EDITED, None),
    (ACCOUNTANT, A.RETRY_EXPORTS, EDITED, None),
    (ACCOUNTANT, A.UPLOAD, EDITED, None),
    (ACCOUNTANT, A.PROCESS, VIEWED, (Forbidden, "has view access to client 11")),
    (ACCOUNTANT, A.RETRY_EXPORTS, VIEWED, (Forbidden, "has view access to client 11")),
    (ACCOUNTANT, A.UPLOAD, VIEWED, (Forbidden, "has view access to client 11")),
    (ACCOUNTANT, A.SEE_DOCUMENTS, UNASSIGNED, (Forbidden, "is not assigned to client 12")),
    (ACCOUNTANT, A.SEE_CLIENTS, UNASSIGNED, (Forbidden, "is not assigned to client 12")),
    (ACCOUNTANT, A.RELEASE, EDITED, (Forbidden, "cannot approve or send documents")),
    (ACCOUNTANT, A.MANAGE_INTEGRATIONS, EDITED, (Forbidden, "cannot manage integrations")),
    (BUSINESS, A.UPLOAD, EDITED, None),
    (BUSINESS, A.RELEASE, EDITED, None),
    (BUSINESS, A.SEE_DOCUMENTS, EDITED, None),
    (BUSINESS, A.SEE_CLIENTS, EDITED, None),
    # Another client is outside a business user's world: not found, not forbidden.
    (BUSINESS, A.SEE_DOCUMENTS, VIEWED, (NotFound, "client 11 does not exist")),
    (BUSINESS, A.UPLOAD, UNASSIGNED, (NotFound, "client 12 does not exist")),
    (BUSINESS, A.PROCESS, EDITED, (Forbidden, "business users cannot process documents")),
    (BUSINESS, A.SEE_EXPORTS, EDITED, (Forbidden, "business users cannot see exports")),
    (BUSINESS, A.SEE_INTEGRATIONS, EDITED, (Forbidden, "business users cannot see integ")),
    (BUSINESS, A.MANAGE_INTEGRATIONS, EDITED, (Forbidden, "cannot manage integrations")),
    (BUSINESS, A.SEE_INSTALLATIONS, None, (Forbidden, "cannot see installations")),
    (OPERATOR, A.RELEASE, UNASSIGNED, None),
]


@pytest.mark.parametrize("actor, action, client, expected", CLIENT_TABLE)
def test_on_one_client(
    actor: Actor, action: Action, client: int | None, expected: tuple[type[Exception], str] | None
) -> None:
    if expected is None:
        require(actor, action, PARTNER, client)
        assert may(actor, action, PARTNER, client)
        return
    error, message = expected
    with pytest.raises(error, match=message):
        require(actor, action, PARTNER, client)
    assert not may(actor, action, PARTNER, client)


@pytest.mark.parametrize("actor", [ADMIN, MANAGER, ACCOUNTANT, BUSINESS])
@pytest.mark.parametrize("action", list(Action))
def test_another_partner_does_not_exist_for_any_user(actor: Actor, action: Action) -> None:
    with pytest.raises(NotFound, match="document 5 does not exist"):
        require(actor, action, OTHER_PARTNER, EDITED, what="document 5")
    with pytest.raises(NotFound):
        require(actor, action, OTHER_PARTNER)


def test_the_operator_acts_in_whichever_partner_it_names() -> None:
    for action in Action:
        require(OPERATOR, action, OTHER_PARTNER, UNASSIGNED)
        assert clients_within(OPERATOR, action, OTHER_PARTNER) is None


def test_lists_hold_only_the_clients_within_reach() -> None:
    assert clients_within(ADMIN, A.SEE_DOCUMENTS, PARTNER) is None
    assert clients_within(MANAGER, A.SEE_CLIENTS, PARTNER) is None
    assert clients_within(ACCOUNTANT, A.SEE_DOCUMENTS, PARTNER) == {EDITED, VIEWED}
    assert clients_within(ACCOUNTANT, A.RETRY_EXPORTS, PARTNER) == {EDITED}
    assert clients_within(BUSINESS, A.SEE_DOCUMENTS, PARTNER) == {EDITED}
    with pytest.raises(Forbidden, match="business users cannot see exports"):
        clients_within(BUSINESS, A.SEE_EXPORTS, PARTNER)
    with pytest.raises(Forbidden, match="cannot see documents"):
        clients_within(MANAGER, A.SEE_DOCUMENTS, PARTNER)
    with pytest.raises(NotFound):
        clients_within(ACCOUNTANT, A.SEE_DOCUMENTS, OTHER_PARTNER)


def test_a_new_user_sees_nothing_until_assigned() -> None:
    newcomer = actor_of(User(8, PARTNER, "n@firm.be", "N", frozenset({Role.ACCOUNTANT})), {})
    assert clients_within(newcomer, A.SEE_CLIENTS, PARTNER) == frozenset()
    assert clients_within(newcomer, A.SEE_DOCUMENTS, PARTNER) == frozenset()
    assert not may(newcomer, A.SEE_DOCUMENTS, PARTNER, EDITED)


def test_several_roles_add_up_to_the_widest_reach() -> None:
    both = user(Role.ACCOUNTANT, Role.CLIENT_MANAGER)
    assert clients_within(both, A.SEE_CLIENTS, PARTNER) is None  # as client manager
    assert clients_within(both, A.SEE_DOCUMENTS, PARTNER) == {EDITED, VIEWED}  # as accountant
    assert may(both, A.MANAGE_CLIENTS, PARTNER, UNASSIGNED)
    assert not may(both, A.SEE_DOCUMENTS, PARTNER, UNASSIGNED)


def test_a_business_user_without_a_client_reaches_nothing() -> None:
    stray = Actor("business user s@x.be", PARTNER, frozenset({Role.BUSINESS}))
    assert clients_within(stray, A.SEE_DOCUMENTS, PARTNER) == frozenset()
    assert not may(stray, A.UPLOAD, PARTNER, EDITED)


def test_approving_and_sending_stay_the_clients_acts() -> None:
    assert [r for r, grants in GRANTS.items() if A.RELEASE in grants] == [Role.BUSINESS]
