"""Structured logs: one event per line (JSON, or text for a person at a terminal), with
the ids of what the event concerns (partner, client, integration, export, try) bound by
whoever knows them, and the secrets of that work masked.

Secrets are masked by value, not by a list of suspicious key names: whoever handles a
target's secrets (the worker, for one try) declares them with `redacting()`: the values
of the fields the extension declared `secret` (domain/fields.py), and the tokens handed
to its connector. Every string of every event logged meanwhile, in that task or thread,
passes through domain/redaction.py, tracebacks included.

Standard-library loggers (`logging.getLogger(...)`, used across passeur and by its
libraries) go through the same processors, so every line of a process has one shape.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any, Literal, TextIO

from passeur.domain.redaction import redact

# structlog imports rich, when it is installed (typer's help uses it), only to offer rich
# tracebacks, which passeur does not use: format_exc_info turns a traceback into a plain
# string field before any renderer, so that it is masked too. Loading rich cost a worker
# about 35 ms of CPU before it could claim (docs/decisions.md), so structlog is imported
# with rich hidden unless this process has loaded it already.
_HIDE_RICH = "rich" not in sys.modules
if _HIDE_RICH:
    sys.modules["rich"] = None  # type: ignore[assignment]  # `import rich` fails
try:
    import structlog
finally:
    if _HIDE_RICH:
        del sys.modules["rich"]

LogFormat = Literal["json", "text"]

Secrets = Iterable[str] | Callable[[], Iterable[str]]
_SECRETS: ContextVar[tuple[Secrets, ...]] = ContextVar("passeur_log_secrets", default=())
# The ids bound, in one variable: a worker binds a try's five or six ids per delivery, and
# structlog's contextvars (a variable per key, every one of the context's variables scanned
# per event) cost several times more.
_IDS: ContextVar[Mapping[str, Any]] = ContextVar("passeur_log_ids", default=MappingProxyType({}))


@contextmanager
def redacting(secrets: Secrets) -> Iterator[None]:
    """Mask these values in every event logged inside the block (this task or thread).
    A callable is asked at each event: secrets that appear during the work (an access
    token handed out) are masked as soon as they exist."""
    kept = secrets if callable(secrets) else tuple(secrets)
    token = _SECRETS.set((*_SECRETS.get(), kept))
    try:
        yield
    finally:
        _SECRETS.reset(token)


def bind(**ids: Any) -> None:
    """Attach ids to every event logged from here on in this task or thread."""
    _IDS.set({**_IDS.get(), **{k: v for k, v in ids.items() if v is not None}})


@contextmanager
def bound(**ids: Any) -> Iterator[None]:
    """Attach ids to every event logged inside the block."""
    token = _IDS.set({**_IDS.get(), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _IDS.reset(token)


def clear() -> None:
    _IDS.set(MappingProxyType({}))


def merge_ids(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The structlog processor: the ids bound in this task or thread, under the event's
    own fields."""
    ids = _IDS.get()
    if not ids:
        return event
    return {**ids, **event}


def _mask(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, Mapping):
        return {k: _mask(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v, secrets) for v in value]
    return value


def redact_secrets(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The structlog processor: the declared secrets of the work under way, masked."""
    sources = _SECRETS.get()
    if not sources:
        return event
    secrets = tuple(s for src in sources for s in (src() if callable(src) else src) if s)
    return {key: _mask(value, secrets) for key, value in event.items()}


def _without_copies(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A stdlib record's formatted message, and uvicorn's coloured one, repeat `event`."""
    event.pop("message", None)
    event.pop("color_message", None)
    return event


def configure(
    fmt: LogFormat = "text", level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Route every logger of this process to one handler on `stream` (stderr)."""
    shared: list[Any] = [
        merge_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _without_copies,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    final: list[Any] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.format_exc_info,  # a traceback is a string field: masked too
        redact_secrets,
        renderer,
    ]
    formatter = structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "passeur", False):
            root.removeHandler(old)
    handler.passeur = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("asyncssh").setLevel(logging.WARNING)  # a line per SSH step is noise
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get(name: str) -> Any:
    """A structured logger (events with key-value fields) named like a stdlib one."""
    return structlog.stdlib.get_logger(name)
