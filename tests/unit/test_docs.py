"""The documentation: ``mkdocs build --strict`` passes on ``docs/`` and fails on a dead link
(the hook lets only links to existing repository files through), and every relative link of
the README and of the pages resolves to a file."""

from __future__ import annotations

import importlib.util
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1].parent
HOOK = ROOT / "docs" / "_hooks" / "repo_links.py"
LINK = re.compile(r"\]\(([^)\s]+)\)")
needs_mkdocs = pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                                  reason="mkdocs is not installed (the test extra has it)")


def _mkdocs(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config),
                           "-d", str(site)], capture_output=True, text=True, cwd=config.parent)


@needs_mkdocs
def test_the_docs_build_strict(tmp_path):
    proc = _mkdocs(ROOT / "mkdocs.yml", tmp_path / "site")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "site" / "results" / "claims" / "index.html").exists()


@needs_mkdocs
def test_a_dead_link_fails_the_build(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# x\n\n[gone](missing.md) and [repo](../README.md)\n")
    (tmp_path / "mkdocs.yml").write_text(f"site_name: t\nhooks:\n  - {HOOK}\n")
    (tmp_path / "README.md").write_text("x\n")
    proc = _mkdocs(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert proc.returncode != 0 and "missing.md" in proc.stderr, proc.stderr
    assert "README.md" not in proc.stderr  # an existing repository file is a good link


def test_the_hook_drops_only_reports_of_existing_repository_files():
    sys.path.insert(0, str(HOOK.parent))
    try:
        import repo_links
    finally:
        sys.path.pop(0)

    def kept(link: str) -> bool:
        msg = (f"Doc file 'results/claims.md' contains a link '{link}', but the target 'x' is "
               f"not found among documentation files.")
        return repo_links.RepoLinks().filter(logging.makeLogRecord({"msg": msg}))
    assert not kept("../../leaderboard/claims.csv")
    assert kept("../../leaderboard/no-such.csv")
    assert kept("../missing-page.md")


@pytest.mark.parametrize("page", [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for link in LINK.findall(text):
        if re.match(r"(https?:|mailto:|#)", link):
            continue
        target = (page.parent / link.split("#")[0]).resolve()
        assert target.exists(), f"{page.relative_to(ROOT)}: {link}"
