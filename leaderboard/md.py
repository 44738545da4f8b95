"""Text from the CSVs written into Markdown (``LEADERBOARD.md``, the README's wall-clock
section) so that it shows as written: the one escaping of the Markdown outputs, as
``html.escape`` is that of the web page. A task name, label or claim can neither open HTML, a
heading, emphasis or a link, nor leave the code span or table cell it stands in."""

from __future__ import annotations

import re
from pathlib import Path

from benchmarks.common.fsio import atomic_write_text

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# backslash-escaped: what opens emphasis, code, strikethrough, math, a closing heading
# sequence or a cell; ``]`` only where it would close a link (``](`` or ``][``)
_SPECIAL = re.compile(r"[\\`*_~#|$&<>]|\](?=[(\[])")
_LINE_BREAKS = re.compile(r"[\r\n]+")


def escape(value: object, code: bool = False, cell: bool = False) -> str:
    """``value`` as literal Markdown inline text on one line (``|`` escaped, so it may stand
    in a table cell). With ``code``: a code span whose backtick fence is longer than any run
    of backticks inside, its ``|`` escaped only in a table ``cell``."""
    text = _LINE_BREAKS.sub(" ", str(value))
    if not code:
        return _SPECIAL.sub(lambda m: _ENTITIES.get(m.group(), "\\" + m.group()), text)
    if not text:
        return ""
    fence = "`" * (1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    if cell:
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def replace_block(path: Path, begin: str, end: str, body: str) -> bool:
    """Rewrite the generated block of ``path`` between the marker lines ``begin`` and ``end``
    with ``body``; True if the file changed. A file without both markers, or no file (outside a
    checkout), is left alone."""
    if not path.is_file():
        return False
    text = path.read_text()
    if begin not in text or end not in text:
        return False
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    new = f"{head}{begin}\n{body}\n{end}{tail}"
    if new != text:
        atomic_write_text(path, new)
    return new != text
