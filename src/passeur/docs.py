"""The extensions' reference pages, rendered from their declarations.

Each registered extension gets `docs/extensions/<slug>.md`, and the folder a README that
lists them; nobody edits these pages by hand. `python -m passeur.docs` writes them (after
a declaration changed), `python -m passeur.docs --check` says which are stale; a test runs
the check, so a page cannot drift from the code it describes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from passeur.connectors import registry
from passeur.connectors.base import Connector
from passeur.domain.documents import Family
from passeur.domain.extensions import Extension
from passeur.domain.fields import Field

# The repository's docs folder when passeur runs from its source tree (src/passeur/docs.py).
FOLDER = Path(__file__).resolve().parents[2] / "docs" / "extensions"
INDEX = "README.md"
NOTICE = (
    "<!-- Generated from the extension's declaration by `python -m passeur.docs`; "
    "do not edit by hand. -->"
)


def pages() -> dict[str, str]:
    """Every page by file name: one per registered extension, and the index."""
    connectors = [registry.connector_class(slug) for slug in registry.extensions()]
    rendered = {f"{c.extension.slug}.md": render(c) for c in connectors}
    rendered[INDEX] = render_index(c.extension for c in connectors)
    return rendered


def stale(folder: Path = FOLDER) -> list[str]:
    """The pages in `folder` that differ from what the declarations render now, those
    missing, and those of no registered extension (file names, sorted)."""
    expected = pages()
    found = {p.name for p in folder.glob("*.md")} if folder.is_dir() else set()
    wrong = [
        name
        for name, text in expected.items()
        if name not in found or (folder / name).read_text(encoding="utf-8") != text
    ]
    return sorted(wrong + sorted(found - set(expected)))


def write(folder: Path = FOLDER) -> list[str]:
    """Write the pages that changed and delete those of no registered extension; what
    changed (file names)."""
    changed = stale(folder)
    folder.mkdir(parents=True, exist_ok=True)
    expected = pages()
    for name in changed:
        if name in expected:
            (folder / name).write_text(expected[name], encoding="utf-8")
        else:
            (folder / name).unlink()
    return changed


def render(connector: type[Connector]) -> str:
    """One extension's page."""
    ext = connector.extension
    can_test = connector.test_delivery is not Connector.test_delivery
    lines = [
        NOTICE,
        "",
        f"# {ext.name} (`{ext.slug}`)",
        "",
        ext.summary,
        "",
        "| | |",
        "|---|---|",
        f"| Category | {_cell(ext.category)} |",
        f"| Sends | {_cell(ext.sends)} |",
        f"| Document families | {_families(ext)} |",
        f"| Order | {_order(ext)} |",
        "| Test connection | yes: connects and signs in, sends no document |",
        f"| Test delivery | {'yes: sends one harmless test' if can_test else 'no'} |",
        f"| Stand-in | `{ext.stand_in}` |" if ext.stand_in else "| Stand-in | none |",
        "",
        "## Limits",
        "",
        "Per installation, for all its clients and every worker together:",
        "",
        *_limits(ext),
        "",
        "## Installation fields",
        "",
        "Entered once by the partner (the template). A client's integration may override "
        "each of them except the secrets and those marked *not overridable*.",
        "",
        *_table(ext.install_fields),
        "",
        "## Client fields",
        "",
    ]
    if ext.integration_fields:
        lines += [
            "Entered for each client when the installation is added to it (its integration).",
            "",
            *_table(ext.integration_fields),
        ]
    else:
        lines.append("None: a client's integration only overrides installation fields.")
    if ext.one_of:
        labels = {f.name: f.label for f in ext.install_fields + ext.integration_fields}
        lines += ["", "## Alternatives", ""]
        lines += [
            f"- Give at least one of: {' or '.join(labels[name] for name in group)}."
            for group in ext.one_of
        ]
    if ext.oauth is not None:
        lines += ["", *_sign_in(ext)]
    if ext.settings:
        lines += [
            "",
            "## Operator settings",
            "",
            "Set once for the whole deployment (the demo and the tests point them at the "
            "stand-in): "
            + ", ".join(f"`PASSEUR_{setting.upper()}`" for _, setting in ext.settings)
            + ".",
        ]
    if ext.redelivery:
        lines += ["", "## Redelivery", "", ext.redelivery]
    if ext.secret_names():
        lines += [
            "",
            "Secrets are write-only: encrypted at rest, never shown again, never in a log, "
            "an error or an attempt record.",
        ]
    return "\n".join(lines) + "\n"


def _sign_in(ext: Extension) -> list[str]:
    """How an installation signs in, and the operator's settings it needs."""
    spec = ext.oauth
    assert spec is not None
    settings = [
        spec.client_id_setting,
        spec.client_secret_setting,
        spec.authorize_url_setting,
        spec.token_url_setting,
        *(setting for _, setting in spec.endpoints),
    ]
    extra = ", ".join(f"`{k}={v}`" for k, v in spec.authorize_params)
    return [
        "## Sign-in",
        "",
        f"The installation signs in with {spec.provider} (OAuth 2.0 authorization code with "
        'PKCE): "Sign in with ' + spec.provider + '" in the web UI, or '
        "`passeur installations connect ID` from a terminal. The tokens are kept encrypted "
        "with the installation and refreshed by passeur; a revoked grant sets its clients' "
        'integrations to *needs attention* with "Sign in again", their exports waiting.',
        "",
        f"- Scope: `{spec.scope or 'none'}`" + (f"; also asked: {extra}" if extra else ""),
        "- Operator settings: "
        + ", ".join(f"`PASSEUR_{name.upper()}`" for name in settings if name),
    ]


def render_index(extensions: Iterable[Extension]) -> str:
    lines = [
        NOTICE,
        "",
        "# Extensions",
        "",
        "One page per extension, generated from its declaration (`python -m passeur.docs`).",
        "How to add one: [docs/extending.md](../extending.md).",
        "",
        "| Extension | Category | Summary | Families |",
        "|---|---|---|---|",
    ]
    for ext in extensions:
        families = ", ".join(f.value for f in Family if f in ext.families)
        lines.append(
            f"| [{ext.name}]({ext.slug}.md) (`{ext.slug}`) | {_cell(ext.category)} "
            f"| {_cell(ext.summary)} | {families} |"
        )
    return "\n".join(lines) + "\n"


def _families(ext: Extension) -> str:
    text = ", ".join(
        f"{f.value} (`[invoice_type]` = `{f.invoice_type}`)" for f in Family if f in ext.families
    )
    if ext.narrow is not None:
        text += "; a client receives only those its own fields allow"
    return text


def _order(ext: Extension) -> str:
    if ext.ordered:
        return "in approval order, one write in flight per target"
    return "any order, several at once"


def _limits(ext: Extension) -> list[str]:
    pacing = ext.pacing
    lines = [f"- at most {pacing.max_concurrent} tries at once"]
    for value, unit in (
        (pacing.per_minute, "calls a minute"),
        (pacing.per_day, "calls a day"),
        (pacing.errors_per_hour, "failing calls an hour, then no call until the hour is over"),
    ):
        if value is not None:
            lines.append(f"- at most {value} {unit}")
    lines.append("- when the target asks to wait (rate limited), no worker calls it before then")
    if ext.pace is not None:
        lines += ["", "These are the defaults; the installation's fields below may change them."]
    return lines


def _table(fields: Sequence[Field]) -> list[str]:
    lines = ["| Field | Kind | Required | Default | Details |", "|---|---|---|---|---|"]
    for f in fields:
        lines.append(
            f"| {_cell(f.label)} (`{f.name}`) | {f.kind.value} | {'yes' if f.required else ''} "
            f"| {_default(f.default)} | {_details(f)} |"
        )
    return lines


def _details(f: Field) -> str:
    notes: list[str] = []
    if f.secret:
        notes.append("**secret**, write-only")
    if f.choices:
        notes.append("one of " + ", ".join(f"`{c}`" for c in f.choices))
    if f.minimum is not None and f.maximum is not None:
        notes.append(f"from {f.minimum} to {f.maximum}")
    elif f.minimum is not None:
        notes.append(f"at least {f.minimum}")
    elif f.maximum is not None:
        notes.append(f"at most {f.maximum}")
    if f.advanced:
        notes.append("advanced")
    if not f.overridable:
        notes.append("not overridable")
    text = "; ".join(notes)
    if f.help:
        text = f"{text}. {f.help}" if text else f.help
    return _cell(text)


def _default(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"`{value}`"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m passeur.docs",
        description="Write the extensions' reference pages from their declarations.",
    )
    parser.add_argument("--check", action="store_true", help="only say which pages are stale")
    parser.add_argument("--dir", type=Path, default=FOLDER, help=f"default: {FOLDER}")
    args = parser.parse_args(argv)
    if args.check:
        wrong = stale(args.dir)
        for name in wrong:
            print(f"stale: {args.dir / name}")
        if wrong:
            print("run `python -m passeur.docs` to write them", file=sys.stderr)
        return 1 if wrong else 0
    for name in write(args.dir):
        print(f"wrote {args.dir / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
