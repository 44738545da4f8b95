"""mkdocs hook: a page may link to a file of the repository outside ``docs/`` (a leaderboard
CSV, ``methods/METHODS.md``, a figure) when that file exists; mkdocs reports such links as
"not found among documentation files". This hook drops exactly those reports, so every other
unresolved link (a missing file, a missing page, a missing anchor) stays a warning and
``mkdocs build --strict`` fails on it."""

from __future__ import annotations

import logging
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
REPO = DOCS.parent
NOT_FOUND = re.compile(r"Doc file '([^']+)' contains a link '([^']+)', but the target .*"
                       r"is not found among documentation files")


class RepoLinks(logging.Filter):
    """Lets through every record except a "not found" about an existing repository file."""

    def filter(self, record: logging.LogRecord) -> bool:
        match = NOT_FOUND.match(record.getMessage())
        if not match:
            return True
        page, link = match.groups()
        target = ((DOCS / page).parent / link.split("#")[0]).resolve()
        inside_repo = REPO in target.parents and DOCS not in target.parents
        return not (inside_repo and target.exists())


def on_startup(command: str, dirty: bool) -> None:
    """Install the filter on the logger that reports unresolved links."""
    logging.getLogger("mkdocs.structure.pages").addFilter(RepoLinks())
