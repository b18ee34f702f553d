"""Finding English left on a page shown in French or Dutch.

A page's visible text and its accessible names (aria-label, placeholder, title, alt) are
compared with the English messages that the language translates differently: any of
them found as it is means a string reached the page without its translation.
"""

from __future__ import annotations

from functools import cache

from playwright.sync_api import Page

from passeur.web import i18n, messages

_TEXTS = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const parent = node.parentElement;
    if (!parent || parent.closest('script, style, code, pre, [translate="no"]')) continue;
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    if (text) found.push(text);
  }
  for (const el of document.querySelectorAll('[aria-label], [placeholder], [title], [alt]')) {
    for (const name of ['aria-label', 'placeholder', 'title', 'alt']) {
      const value = el.getAttribute(name);
      if (value && value.trim()) found.push(value.trim());
    }
  }
  found.push(document.title);
  return found;
}"""


@cache
def _english_only(locale: str) -> frozenset[str]:
    """English messages whose translation in this language reads differently."""
    language = i18n.language(locale)
    return frozenset(
        m for m in messages.used() if "%(" not in m and language.gettext(m).strip() != m.strip()
    )


def untranslated(page: Page, locale: str) -> list[str]:
    english = _english_only(locale)
    texts: list[str] = page.evaluate(_TEXTS)
    pieces = {piece.strip() for text in texts for piece in text.split(" · ")}
    return sorted(p for p in pieces if p in english)
