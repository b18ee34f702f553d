"""Who may do what: the operator, partner-space users by role, and a client's business users.

One rule for refusals (docs/decisions.md, "Roles and access"):

* what lies outside the actor's world is **not found**, as if it did not exist: another
  partner's rows for everyone, and another client's rows for a business user (a
  business user's world is their own client);
* what lies inside it but is not theirs to do is **forbidden**, with the reason: an action
  their role does not have, a client of their firm they are not assigned to, a client
  they may only view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum

from passeur.domain.errors import Forbidden, NotFound
from passeur.domain.partners import Access, Role, User


class Action(StrEnum):
    # The value reads in a refusal: "… cannot manage integrations".
    MANAGE_USERS = "manage users"  # add partner-space users
    SEE_USERS = "see users"
    MANAGE_TEAM = "manage a client's team"  # assign users, add the client's business users
    MANAGE_CLIENTS = "manage clients"  # create, change status
    SEE_CLIENTS = "see clients"
    MANAGE_INSTALLATIONS = "manage installations"
    SEE_INSTALLATIONS = "see installations"
    MANAGE_INTEGRATIONS = "manage integrations"  # add, change, pause, resume
    SEE_INTEGRATIONS = "see integrations"  # status and the client's values, never secrets
    SEE_DOCUMENTS = "see documents"
    UPLOAD = "upload documents"
    RELEASE = "approve or send documents"  # the client's own act
    PROCESS = "process documents"  # mark processed, (re-)send to integrations
    SEE_EXPORTS = "see exports"
    RETRY_EXPORTS = "retry exports"
    MANAGE_TEMPLATES = "manage configuration templates"  # create, edit, delete, default
    SEE_TEMPLATES = "see configuration templates"  # to choose one for a new client
    SEE_AUDIT = "see the audit trail"  # who changed what: administrators
    MANAGE_API_CLIENTS = "manage API clients"  # create and revoke them and their tokens


class Reach(Enum):
    """On which clients a grant holds."""

    PARTNER = "every client of the partner"
    ASSIGNED = "the clients assigned to the user, with view or edit access"
    ASSIGNED_EDIT = "the clients assigned to the user with edit access"
    OWN_CLIENT = "the business user's own client"


# Widest first: a user with several roles gets the widest reach any of them gives.
_WIDTH = [Reach.PARTNER, Reach.ASSIGNED, Reach.ASSIGNED_EDIT, Reach.OWN_CLIENT]

GRANTS: dict[Role, dict[Action, Reach]] = {
    # The firm's administrator does everything in the partner space, on every client;
    # approving and sending stay the client's own acts.
    Role.ADMINISTRATOR: {a: Reach.PARTNER for a in Action if a is not Action.RELEASE},
    # Manages the client list and teams; no documents, exports or integrations.
    Role.CLIENT_MANAGER: {
        Action.SEE_USERS: Reach.PARTNER,
        Action.MANAGE_TEAM: Reach.PARTNER,
        Action.MANAGE_CLIENTS: Reach.PARTNER,
        Action.SEE_CLIENTS: Reach.PARTNER,
        Action.SEE_TEMPLATES: Reach.PARTNER,
    },
    # Works on the documents of assigned clients; view access is read-only.
    Role.ACCOUNTANT: {
        Action.SEE_CLIENTS: Reach.ASSIGNED,
        Action.SEE_DOCUMENTS: Reach.ASSIGNED,
        Action.SEE_EXPORTS: Reach.ASSIGNED,
        Action.SEE_INTEGRATIONS: Reach.ASSIGNED,
        Action.UPLOAD: Reach.ASSIGNED_EDIT,
        Action.PROCESS: Reach.ASSIGNED_EDIT,
        Action.RETRY_EXPORTS: Reach.ASSIGNED_EDIT,
    },
    # The client's own people: their documents, never installations, integrations or exports.
    Role.BUSINESS: {
        Action.SEE_CLIENTS: Reach.OWN_CLIENT,
        Action.SEE_DOCUMENTS: Reach.OWN_CLIENT,
        Action.UPLOAD: Reach.OWN_CLIENT,
        Action.RELEASE: Reach.OWN_CLIENT,
    },
}


@dataclass(frozen=True)
class Actor:
    """Who asks. Built for each request from the signed-in user, so that a changed
    assignment holds from the next request on."""

    label: str  # names the actor in a refusal
    partner_id: int | None  # None: the operator, at home in whichever partner it names
    roles: frozenset[Role] = frozenset()
    assigned: Mapping[int, Access] = field(default_factory=dict, hash=False)
    client_id: int | None = None  # business users: their one client
    user_id: int | None = None
    origin: str = "cli"  # where the request came from, for the audit trail: an IP address

    @property
    def is_operator(self) -> bool:
        return self.partner_id is None

    @property
    def is_business(self) -> bool:
        return Role.BUSINESS in self.roles


# The command line and the system (demo, worker): every right within the partner it names.
OPERATOR = Actor(label="the operator", partner_id=None)


def actor_of(user: User, assigned: Mapping[int, Access]) -> Actor:
    """The actor for a signed-in user and the clients assigned to them."""
    if user.is_business:
        label = f"business user {user.email}"
        return Actor(label, user.partner_id, user.roles, {}, user.client_id, user.id)
    return Actor(f"user {user.email}", user.partner_id, user.roles, dict(assigned), None, user.id)


def reach(actor: Actor, action: Action) -> Reach | None:
    """The widest reach of the actor's grants for this action; None: not at all."""
    if actor.is_operator:
        return Reach.PARTNER
    granted = {GRANTS[role][action] for role in actor.roles if action in GRANTS[role]}
    return next((r for r in _WIDTH if r in granted), None)


def require(
    actor: Actor,
    action: Action,
    partner_id: int,
    client_id: int | None = None,
    *,
    what: str = "",
) -> None:
    """Raise unless the actor may do `action` in this partner (on this client, if given).

    Without a client, only the role is checked: call it before looking anything up, so
    that a refused role learns nothing about ids. `what` names the row asked for ("document
    12"), for a not-found that reads like any other.
    """
    refusal = _refusal(actor, action, partner_id, client_id, what)
    if refusal is not None:
        raise refusal


def may(actor: Actor, action: Action, partner_id: int, client_id: int | None = None) -> bool:
    """The same rule as `require`, as a yes or no (to show or hide a button)."""
    return _refusal(actor, action, partner_id, client_id, "") is None


def clients_within(actor: Actor, action: Action, partner_id: int) -> frozenset[int] | None:
    """The clients on which the actor may do `action`: None for all of the partner's.

    Lists are filtered with it, so a user sees only their clients' rows; an actor whose
    role does not have the action at all is refused (not handed an empty list).
    """
    require(actor, action, partner_id)
    match reach(actor, action):
        case Reach.PARTNER:
            return None
        case Reach.ASSIGNED:
            return frozenset(actor.assigned)
        case Reach.ASSIGNED_EDIT:
            return frozenset(c for c, a in actor.assigned.items() if a is Access.EDIT)
        case _:
            return frozenset({actor.client_id}) if actor.client_id is not None else frozenset()


def _refusal(
    actor: Actor, action: Action, partner_id: int, client_id: int | None, what: str
) -> Exception | None:
    missing = NotFound(f"{what or _default_what(partner_id, client_id)} does not exist")
    if actor.partner_id is not None and actor.partner_id != partner_id:
        return missing  # tenants are walled: another firm's ids are never confirmed
    granted = reach(actor, action)
    if granted is None:
        return Forbidden(f"{_who(actor)} cannot {action.value}")
    if client_id is None or granted is Reach.PARTNER:
        return None
    if granted is Reach.OWN_CLIENT:
        return None if client_id == actor.client_id else missing
    access = actor.assigned.get(client_id)
    if access is None:
        return Forbidden(f"{actor.label} is not assigned to client {client_id}")
    if granted is Reach.ASSIGNED_EDIT and access is not Access.EDIT:
        return Forbidden(
            f"{actor.label} has view access to client {client_id}: it cannot {action.value} there"
        )
    return None


def _default_what(partner_id: int, client_id: int | None) -> str:
    return f"client {client_id}" if client_id is not None else f"partner {partner_id}"


def _who(actor: Actor) -> str:
    if actor.is_business:
        return "business users"
    roles = ", ".join(sorted(r.value.replace("_", " ") for r in actor.roles)) or "no role"
    return f"{actor.label} ({roles})"
