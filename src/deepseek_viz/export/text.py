"""Model text shown literally in exported figures and pages: the package's one text escaper.

Plotly reads a few HTML tags in its labels and an SVG cannot hold most control characters, so text
going into a figure is escaped here and nowhere else:

* :func:`escape_html` — ``&``, ``<``, ``>`` escaped, control characters (but tab and newlines) as their
  Unicode control pictures (``\\x10`` → ``␐``); for any HTML text (a plotly string, a page title).
* :func:`plot_text` — :func:`escape_html` with newlines as ``<br>``: titles, axis titles, legend names.
* :func:`hover_text` — :func:`plot_text` of a text cut and wrapped to fit a tooltip.
* :func:`label` — a token as a one-line tick label: newline ``↵``, tab ``⇥``, carriage return ``␍``;
  a whitespace-only token's spaces as ``␣`` (the empty token as ``∅``).
* :func:`unescape` — back from plotly's markup to plain text, for the matplotlib fallback.

The browser's twin is ``js/src/lib/tokens.ts``. (JSON inside a page's script element is made safe by
:func:`.standalone.script_json`: that is serialisation, not text shown.)
"""

from __future__ import annotations

import html

#: Control characters other than tab and newlines, which SVG (so plotly's image export) cannot hold and a
#: label would not show, mapped to their Unicode control pictures (``\x10`` → ``␐``, DEL → ``␡``).
CONTROL_PICTURES = {code: 0x2400 + code for code in range(32) if chr(code) not in "\t\n\r"} | {0x7F: 0x2421}
#: What a one-line label shows as a symbol: the control pictures, and newline, tab, carriage return.
LABEL_SYMBOLS = CONTROL_PICTURES | str.maketrans({"\n": "↵", "\t": "⇥", "\r": "␍"})
HOVER_CHARS = 300  # longer hover texts are cut
HOVER_LINE = 80  # and wrapped at about this many characters


def escape_html(text: str) -> str:
    """``text`` as HTML text that shows literally: ``&``, ``<``, ``>`` escaped, control characters (but
    tab and newlines) as their pictures."""
    return html.escape(text.translate(CONTROL_PICTURES), quote=False)


def plot_text(text: str) -> str:
    """``text`` as plotly shows it literally: :func:`escape_html`, with newlines as ``<br>``."""
    return escape_html(text).replace("\r\n", "\n").replace("\n", "<br>")


def hover_text(text: str) -> str:
    """``text`` for a tooltip: cut at :data:`HOVER_CHARS` characters, wrapped at spaces near
    :data:`HOVER_LINE`, shown literally (:func:`plot_text`)."""
    if len(text) > HOVER_CHARS:
        text = text[: HOVER_CHARS - 1] + "…"
    lines = []
    for paragraph in text.split("\n"):
        while len(paragraph) > HOVER_LINE:
            cut = paragraph.rfind(" ", 0, HOVER_LINE)
            cut = cut if cut > HOVER_LINE // 2 else HOVER_LINE
            lines.append(paragraph[:cut])
            paragraph = paragraph[cut:].lstrip(" ")
        lines.append(paragraph)
    return plot_text("\n".join(lines))


def label(text: str) -> str:
    """A token string as a one-line plotly label, shown literally with its whitespace made visible."""
    visible = text.translate(LABEL_SYMBOLS)
    if visible.strip() == "":
        visible = visible.replace(" ", "␣") or "∅"
    return escape_html(visible)


def unescape(text: str | None) -> str:
    """Plain text of a plotly string written by this module (``<br>`` as a newline; ``None`` as ``""``)."""
    return html.unescape((text or "").replace("<br>", "\n"))
