"""Configuration templates (product.md §1.3): the team and the integrations a client gets
when it is created with the template, or when the template is applied to it later."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from passeur.domain.errors import InvalidInput
from passeur.domain.partners import Access

DESCRIPTION_LONGEST = 2_000


@dataclass(frozen=True)
class TemplateIntegration:
    """An installation the template adds, with that client's values (paths may hold
    [variables], filled in for each client when a document goes out)."""

    installation_id: int
    config: dict[str, Any]


@dataclass(frozen=True)
class ConfigurationTemplate:
    id: int
    partner_id: int
    name: str
    description: str
    is_default: bool
    users: dict[int, Access] = field(default_factory=dict)
    integrations: tuple[TemplateIntegration, ...] = ()


def validate_template_name(raw: str) -> str:
    name = raw.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a template needs a name of 1 to 200 characters", field="name")
    return name


def validate_description(raw: str) -> str:
    text = raw.strip()
    if len(text) > DESCRIPTION_LONGEST:
        raise InvalidInput(
            f"a description may have at most {DESCRIPTION_LONGEST:,} characters",
            field="description",
        )
    return text


class Verdict(StrEnum):
    """What applying one line of a plan does (a template's, or an imported file's row)."""

    ADD = "add"  # would add it
    ALREADY = "already"  # the client already has it: left as it is
    SKIPPED = "skipped"  # cannot be added now (e.g. the installation is switched off)
    REFUSED = "refused"  # would break a rule (a field that fails validation), with why
    UNKNOWN_CLIENT = "unknown_client"  # an imported row names no client of the partner
    DUPLICATE = "duplicate"  # an imported row names a client an earlier row names


@dataclass(frozen=True)
class PlanLine:
    """One line of a preview: what it is about, and what would happen, with why."""

    subject: str  # a user's name, an installation's name
    verdict: Verdict
    reason: str = ""
    access: Access | None = None  # users: the access they would get
    installation_id: int | None = None
    user_id: int | None = None
