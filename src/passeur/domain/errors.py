"""Errors raised by domain rules and services when input or state is not acceptable."""


class DomainError(Exception):
    """A request that breaks a rule; the message is meant for the person who made it."""


class NotFound(DomainError):
    """The thing asked for does not exist, or belongs to another tenant."""


class InvalidInput(DomainError):
    """Input that is malformed or out of range; nothing was changed.

    `field` names the input at fault, when one is, so a form can show the message next
    to it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Conflict(DomainError):
    """The request does not fit the current state (e.g. approving a sales invoice)."""


class Duplicate(Conflict):
    """The same thing exists already (the same file for a client, a client with the same
    enterprise number); nothing was created. A person may insist (the CLI's --force)."""


class Forbidden(DomainError):
    """The actor may not do this (its role, or its access to the client); nothing was changed."""
