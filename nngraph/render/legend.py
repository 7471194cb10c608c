"""The neuron diagram's legend: what colours and widths mean, and the value scale when values are shown."""

from __future__ import annotations

from nngraph.render import style
from nngraph.render.values import Readings

SCALE_STEPS = 9


def _swatch(colour: str, *, width: int = 26, height: int = 4, border: int = 0) -> str:
    return (f'<td bgcolor="{colour}" width="{width}" height="{height}" fixedsize="true" '
            f'border="{border}" color="#bbbbbb"></td>')


def _words(text: str, *, colour: str = style.INK) -> str:
    return f'<td align="left"><font color="{colour}">{style.text(text)}</font></td>'


def _table(rows: list[str], *, spacing: int = 2) -> str:
    return f'<table border="0" cellspacing="{spacing}" cellpadding="1">{"".join(rows)}</table>'


def _key(by: str, bundles: bool) -> str:
    """What a connection's colour, width and dashes mean."""
    what = "weight" if by == "weight" else "contribution (weight × value)"
    rows = [f"<tr>{_swatch(style.POSITIVE)}{_words('positive ' + what)}</tr>",
            f"<tr>{_swatch(style.NEGATIVE)}{_words('negative ' + what)}</tr>",
            f"<tr><td></td>{_words(f'line width grows with |{what.split()[0]}|', colour=style.MUTED)}</tr>"]
    if bundles:
        rows.append(f'<tr><td><font color="{style.NEUTRAL}">- - -</font></td>'
                    f"{_words('n connections to or from folded neurons, drawn as one', colour=style.MUTED)}</tr>")
    return _table(rows)


def _scale(readings: Readings) -> str:
    """A colour bar from ``-largest`` to ``largest`` with its ends and middle marked."""
    largest = readings.largest
    steps = [largest * (2 * i / (SCALE_STEPS - 1) - 1) for i in range(SCALE_STEPS)]
    cells = "".join(_swatch(style.value_fill(v, largest), width=18, height=12, border=1) for v in steps)
    ticks = {0: -largest, SCALE_STEPS // 2: 0.0, SCALE_STEPS - 1: largest}
    marks = "".join(f"<td>{style.number(ticks[i]) if i in ticks else ''}</td>" for i in range(SCALE_STEPS))
    bar = f'<table border="0" cellspacing="0" cellpadding="1"><tr>{cells}</tr><tr>{marks}</tr></table>'
    return _table([
        f'<tr><td align="left">neuron fill: its value for {style.text(readings.label)}</td></tr>',
        f'<tr><td align="left">{bar}</td></tr>',
        f"<tr>{_words('z = weighted sum, a = activation(z), p = probability', colour=style.MUTED)}</tr>"])


def legend_height(readings: Readings | None, *, bundles: bool) -> float:
    """A generous estimate of the legend's height in inches, so that it can be pinned clear of the neurons."""
    key = 0.2 * (3 + bundles)
    return max(key, 0.0 if readings is None else 0.95) + 0.35


def neuron_legend(readings: Readings | None, *, by: str, bundles: bool) -> str:
    """The legend as a Graphviz HTML-like label: the connection key, and the value scale with readings.

    Examples
    --------
    >>> "positive weight" in neuron_legend(None, by="weight", bundles=False)
    True
    """
    # Side by side, each in its own cell, so that neither table is stretched to the other's width.
    parts = [_key(by, bundles)] + ([] if readings is None else [_scale(readings)])
    row = "".join(f'<td valign="top">{part}</td>' for part in parts)
    return f'<<table border="0" cellspacing="12" cellpadding="0"><tr>{row}</tr></table>>'
