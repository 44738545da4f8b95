"""The numbers a figure prints (titles, annotations), recorded beside the figure so a test can
hold each one against the table it was read or computed from.

A figure module writes every number it puts in a title or annotation through ``note``: the text
drawn, the value, the source table (``"results"``, ``"predictions"``, ...), how the value comes
from that table (``"value"``: one row's ``value`` column, found by ``where``; any other word
names a computation the test repeats, e.g. ``"ne"`` over the rows ``where`` picks) and the
columns that pick its rows. ``printed(fig)`` gives them back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from matplotlib.figure import Figure

ATTRIBUTE = "_taskattr_printed"  # where the records live on the Figure


@dataclass(frozen=True)
class Printed:
    """One number drawn on a figure and where it comes from."""

    text: str  # the number as drawn, e.g. "0.585" or "58.2%"
    value: float
    source: str  # the table: a figures SOURCE name
    how: str = "value"  # "value": the picked row's value column; else a named computation
    where: dict[str, object] = field(default_factory=dict)  # column -> value picking the rows


def note(fig: Figure, text: str, value: float, source: str, how: str = "value",
         **where: object) -> str:
    """Record that ``fig`` prints ``text`` (the number ``value`` from ``source``); returns
    ``text`` so that the call can stand where the text is drawn."""
    records = getattr(fig, ATTRIBUTE, None)
    if records is None:
        records = []
        setattr(fig, ATTRIBUTE, records)
    records.append(Printed(text, float(value), source, how, dict(where)))
    return text


def printed(fig: Figure) -> list[Printed]:
    """The numbers recorded on ``fig`` (empty where it prints none)."""
    return list(getattr(fig, ATTRIBUTE, []))
