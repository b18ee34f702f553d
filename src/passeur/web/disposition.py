"""The Content-Disposition header of a stored file (RFC 6266), whatever its name holds.

File names come from uploads: quotes, semicolons, control characters or line breaks in
them must not end the parameter or start another header. The name goes out twice: as
UTF-8 percent-encoded `filename*` (which browsers prefer) and as a plain-ASCII fallback.
"""

from __future__ import annotations

from urllib.parse import quote

_FALLBACK_UNSAFE = set('"\\;%/')


def content_disposition(filename: str, *, inline: bool) -> str:
    kind = "inline" if inline else "attachment"
    shown = "".join(ch for ch in filename if ch.isprintable()).strip() or "document"
    fallback = "".join(
        ch if " " <= ch <= "~" and ch not in _FALLBACK_UNSAFE else "_" for ch in shown
    )
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(shown, safe='')}"
