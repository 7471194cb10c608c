"""The look of every diagram in one place: colours, line widths, number format and escaped text.

Text from a graph reaches a diagram only through ``text`` (HTML-like labels) and ``tooltip``
(quoted DOT strings), which show names by ``nngraph.names.printable``.

Colours are fixed hex strings, so the same network always gets the same
picture. One diverging palette means the same thing everywhere: blue is
positive, red is negative, and the stronger the colour the larger the
magnitude (ColorBrewer's RdBu, which stays readable for red-green colour
blindness).
"""

from __future__ import annotations

import html
import math

import graphviz

from nngraph.names import printable

POSITIVE = "#2166ac"
NEGATIVE = "#b2182b"
NEUTRAL = "#8c8c8c"
WHITE = "#ffffff"
INK = "#222222"
MUTED = "#666666"
FONT = "Helvetica,Arial,sans-serif"

#: Fill colours of layer and plan boxes, by role or op kind.
BOX_FILL = {"input": "#eeeeee", "hidden": "#dbe9f6", "output": "#fde0c5",
            "dense": "#dbe9f6", "sparse": "#e5f5e0"}

MIN_WIDTH = 0.3
MAX_WIDTH = 3.2


def text(value: object) -> str:
    """``value`` for a Graphviz HTML-like label: ``printable`` (control characters, which XML
    cannot hold, as their escapes), then ``<``, ``&`` and quotes escaped.

    Examples
    --------
    >>> text(("a", "<b>"))
    '(&#x27;a&#x27;, &#x27;&lt;b&gt;&#x27;)'
    >>> print(text("a\\x0cb"))
    a\\x0cb
    """
    return html.escape(printable(value), quote=True)


def tooltip(value: object) -> str:
    """``value`` for a DOT string attribute such as a tooltip: ``printable``, then backslashes
    doubled (``graphviz.escape``), so that a name reads as it is and can never end the string.

    Examples
    --------
    >>> print(tooltip('a\\\\" -> \\r'))
    a\\\\" -> \\\\r
    """
    return graphviz.escape(printable(value))


def number(value: float, *, digits: int = 3) -> str:
    """A short, readable number: ``digits`` significant digits, no ``-0``.

    Examples
    --------
    >>> number(0.61834), number(-12.0), number(-0.0), number(1234567.0)
    ('0.618', '-12', '0', '1.23e+06')
    """
    if value == 0:
        return "0"
    if math.isnan(value):
        return "nan"
    return f"{value:.{digits}g}"


def count(n: int, word: str) -> str:
    """``n`` and ``word``, plural unless ``n`` is 1, with thousands separated.

    Examples
    --------
    >>> count(1, "neuron"), count(669706, "connection")
    ('1 neuron', '669,706 connections')
    """
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _mix(colour: str, strength: float) -> str:
    """``colour`` blended with white: 0 gives white, 1 gives ``colour``."""
    strength = min(max(strength, 0.0), 1.0)
    channels = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(255 + (c - 255) * strength) for c in channels]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def sign_colour(value: float, *, alpha: float = 1.0) -> str:
    """Blue for positive, red for negative, grey for zero, with ``alpha`` (0 to 1) appended.

    Examples
    --------
    >>> sign_colour(0.5), sign_colour(-2.0, alpha=0.5)
    ('#2166acff', '#b2182b80')
    """
    base = POSITIVE if value > 0 else NEGATIVE if value < 0 else NEUTRAL
    return base + f"{round(min(max(alpha, 0.0), 1.0) * 255):02x}"


def connection_style(value: float, largest: float) -> tuple[str, str]:
    """The colour and pen width of a connection carrying ``value`` when the largest carries ``largest``.

    Width grows with ``|value|`` from 0.3 to 3.2 points; faint connections are
    also more transparent, so strong ones stand out in a dense layer. An
    infinite value is drawn at full width, NaN (a sample with NaN in it) as a
    faint grey line.

    Examples
    --------
    >>> connection_style(-1.0, 2.0), connection_style(float("nan"), 2.0)
    (('#b2182ba6', '1.75'), ('#8c8c8c59', '0.30'))
    """
    if math.isnan(value):
        value, share = 0.0, 0.0
    else:
        share = min(abs(value) / largest, 1.0) if largest > 0 else 0.0
    width = MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * share
    return sign_colour(value, alpha=0.35 + 0.6 * share), f"{width:.2f}"


def value_fill(value: float, largest: float) -> str:
    """The fill of a neuron whose value is ``value`` on a scale from ``-largest`` to ``largest``.

    Examples
    --------
    >>> value_fill(0.0, 1.0), value_fill(1.0, 1.0), value_fill(-0.5, 1.0)
    ('#ffffff', '#2166ac', '#d88c95')
    """
    if largest <= 0 or math.isnan(value):
        return WHITE
    return _mix(POSITIVE if value > 0 else NEGATIVE, abs(value) / largest)


def ink_on(value: float, largest: float) -> str:
    """Text colour that stays legible on ``value_fill(value, largest)``: white on strong fills."""
    strong = largest > 0 and abs(value) / largest > 0.55
    return WHITE if strong else INK


def diagram_label(title: str | None, note: str | None) -> str | None:
    """The label over a diagram: its title in bold, then a note in muted type; ``None`` without either.

    Examples
    --------
    >>> diagram_label("My <net>", None)
    '<<b>My &lt;net&gt;</b>>'
    >>> diagram_label(None, "a note")
    '<<font point-size="11" color="#666666">a note</font>>'
    """
    lines = [f"<b>{text(title)}</b>"] if title else []
    if note:
        lines.append(f'<font point-size="11" color="{MUTED}">{text(note)}</font>')
    return "<" + "<br/>".join(lines) + ">" if lines else None
