"""Field declarations several extensions share, so that each is written once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from passeur.connectors.tls import check_ca_bundle
from passeur.domain.extensions import Pacing
from passeur.domain.fields import Field, FieldKind


def timeout_field(help: str = "") -> Field:
    return Field(
        "timeout",
        "Timeout (seconds)",
        FieldKind.INTEGER,
        default=30,
        minimum=1,
        maximum=120,
        advanced=True,
        help=help,
    )


CA_BUNDLE = Field(
    "ca_bundle",
    "CA bundle",
    FieldKind.MULTILINE,
    advanced=True,
    help="PEM certificates to trust besides the usual authorities (a company CA).",
    check=check_ca_bundle,
)


def parallel_field(label: str, default: int) -> Field:
    """How many tries may run at once against the target, over every worker."""
    return Field(
        "parallel",
        label,
        FieldKind.INTEGER,
        default=default,
        minimum=1,
        maximum=64,
        advanced=True,
        help="How many transfers may run at the same time, over every worker.",
    )


def parallel_pacing(base: Pacing) -> Callable[[Mapping[str, Any]], Pacing]:
    """Pacing whose concurrency follows the installation's `parallel` field."""

    def pace(config: Mapping[str, Any]) -> Pacing:
        return replace(base, max_concurrent=int(config.get("parallel") or base.max_concurrent))

    return pace
