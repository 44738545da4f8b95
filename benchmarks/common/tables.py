"""The tables the suite writes (``results.csv`` and the CSVs beside it), read strictly and
written with a manifest: the one owner of how those tables are parsed and written.

A read refuses, naming the file (and the line), a table that would otherwise be read wrong:
a row with more or fewer fields than its header (pandas would take an extra first field as the
index and shift every column, or pad a short row), a header with an empty or repeated name, an
empty key cell, a non-number in a numeric column, and two rows with one key but different
values (a merge of two versions; identical copies are collapsed). The writer records each
table's row count and the sha256 of its text in ``<name>.manifest.json`` beside it, so a file
cut at a line break, edited or merged is refused too, while the CSV itself stays plain for
pandas and spreadsheet users. A table without a manifest (made by hand) is read after a
one-line warning. The manifest is renamed into place first and also vouches for the table it
replaces, so a reader that falls between the two renames (or a writer killed there) reads the
old, complete table.
Base layer: imports only ``fsio`` and ``schema``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from benchmarks.common.fsio import CorruptFileError, atomic_write_text
from benchmarks.common.schema import TableSpec

MANIFEST_SUFFIX = ".manifest.json"
FIX = "restore it from git or regenerate it"
_WARNED: set[Path] = set()  # tables read without a manifest, warned once per process


def manifest_path(path: Path) -> Path:
    """Where the manifest of the table at ``path`` lives."""
    path = Path(path)
    return path.with_name(path.name + MANIFEST_SUFFIX)


def _digest(text: str) -> str:
    """sha256 of a table's text, line endings normalised (a checkout may rewrite them)."""
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def write_table(path: Path, df: pd.DataFrame, key: Sequence[str] = ()) -> None:
    """Write ``df`` (no index), then its manifest, each atomically. A caller that reads, changes
    and rewrites a table holds ``fsio.locked(path)`` around both. Rows sharing ``key`` are
    refused: the reader would refuse the file."""
    path, key = Path(path), list(key)
    if key and df.duplicated(key).any():
        raise ValueError(f"{path}: not written: {int(df.duplicated(key).sum())} rows repeat "
                         f"a key {key}")
    text = df.to_csv(index=False, lineterminator="\n")
    manifest = {"rows": len(df), "sha256": _digest(text), "key": key,
                "columns": [str(c) for c in df.columns], "previous": _on_disk(path)}
    atomic_write_text(manifest_path(path), json.dumps(manifest, indent=1) + "\n")
    atomic_write_text(path, text)


def _on_disk(path: Path) -> dict | None:
    """Row count and digest of the table now at ``path`` where its manifest vouches for it:
    the new manifest is written first and keeps them, so a writer killed before the table's
    rename leaves the old table, still readable."""
    try:
        old = _manifest(path)
        if old is None or _digest(path.read_text(encoding="utf-8-sig")) != old["sha256"]:
            return None
    except (CorruptFileError, OSError, UnicodeDecodeError):
        return None
    return {"rows": old["rows"], "sha256": old["sha256"]}


def read_table(path: Path, spec: TableSpec | None = None, *, warn_unrecorded: bool = True
               ) -> pd.DataFrame:
    """The table at ``path``, checked (see the module doc) by ``spec``'s key and numeric
    columns, or by the key its manifest records when no ``spec`` is given. Damage raises
    ``CorruptFileError`` naming the file; a missing file raises ``FileNotFoundError``."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # a spreadsheet's byte-order mark is no column
    except UnicodeDecodeError as err:
        raise CorruptFileError(f"{path}: not UTF-8 text (byte {err.start}); {FIX}") from None
    manifest = _manifest(path)
    key = list(spec.key) if spec else list(manifest.get("key", []) if manifest else [])
    if not text.strip():
        _check_manifest(path, manifest, 0, text, warn_unrecorded)
        return pd.DataFrame(columns=key)
    header, lines = _records(path, text)
    df = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""],
                     low_memory=False)
    if len(df) != len(lines) or list(df.columns) != header:
        raise CorruptFileError(f"{path}: the csv module and pandas read other rows or columns "
                               f"({len(lines)} and {len(df)} rows; odd quoting?); {FIX}")
    _check_cells(path, df, lines, key, spec.numeric if spec else ())
    kept = _without_copies(path, df, lines, key)  # before the manifest: it names the rows
    _check_manifest(path, manifest, len(df), text, warn_unrecorded)
    return kept


def _manifest(path: Path) -> dict | None:
    """The table's manifest, None when it has none; a damaged one is refused."""
    where = manifest_path(path)
    if not where.exists():
        return None
    try:
        data = json.loads(where.read_text(encoding="utf-8"))
        ok = (isinstance(data, dict) and isinstance(data.get("rows"), int)
              and isinstance(data.get("sha256"), str)
              and all(isinstance(k, str) for k in data.get("key", [])))
    except (UnicodeDecodeError, ValueError):
        ok = False
    if not ok:
        raise CorruptFileError(f"{where}: not a table manifest (rows, sha256, key); restore "
                               f"it from git, or delete it to read {path.name} unchecked")
    return data


def _records(path: Path, text: str) -> tuple[list[str], list[int]]:
    """The header and the first line number of each row (blank lines skipped, as pandas does);
    a row with another number of fields than the header, a bad header or a last row without
    its line end is refused."""
    if not text.endswith("\n"):
        raise CorruptFileError(f"{path}: ends mid-row (truncated?); {FIX}")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    lines: list[int] = []
    line = 1
    try:
        for fields in reader:
            if fields and header is None:
                header = fields
            elif fields and len(fields) != len(header):
                raise CorruptFileError(f"{path}: line {line} has {len(fields)} fields, the "
                                       f"header {len(header)} (a row shifted?); {FIX}")
            elif fields:
                lines.append(line)
            line = reader.line_num + 1
    except csv.Error as err:
        raise CorruptFileError(f"{path}: line {reader.line_num}: {err}; {FIX}") from None
    bad = [h for i, h in enumerate(header) if not h.strip() or h in header[:i]]
    if bad:
        raise CorruptFileError(f"{path}: the header has an empty or repeated column name "
                               f"{bad[0]!r}; {FIX}")
    return header, lines


def _check_cells(path: Path, df: pd.DataFrame, lines: list[int], key: list[str],
                 numeric: Sequence[str]) -> None:
    """Every key column present and filled; every numeric column numbers or empty."""
    missing = [c for c in key if c not in df.columns]
    if missing:
        raise CorruptFileError(f"{path}: lacks the key column(s) {', '.join(missing)}; {FIX}")
    for col in key:
        empty = df[col].isna() | df[col].astype(str).str.strip().eq("")
        if empty.any():
            raise CorruptFileError(f"{path}: line {lines[_first(empty)]}: empty key cell "
                                   f"{col!r}; {FIX}")
    for col in (c for c in numeric if c in df.columns):
        bad = df[col].notna() & pd.to_numeric(df[col], errors="coerce").isna()
        if bad.any():
            i = _first(bad)
            raise CorruptFileError(f"{path}: line {lines[i]}: {col} = {df[col].iloc[i]!r} is "
                                   f"not a number; {FIX}")


def _first(mask: pd.Series) -> int:
    """Position of the first True of ``mask``."""
    return int(mask.to_numpy().nonzero()[0][0])


def _check_manifest(path: Path, manifest: dict | None, rows: int, text: str,
                    warn: bool) -> None:
    """The row count and digest agree with the manifest (a table without one: a warning)."""
    name = manifest_path(path).name
    if manifest is None:
        if warn and path.resolve() not in _WARNED:
            _WARNED.add(path.resolve())
            print(f"warning: {path}: no {name} (not written by the suite?); a cut at a line "
                  f"break cannot be detected", file=sys.stderr)
        return
    previous = manifest.get("previous")
    if isinstance(previous, dict) and previous.get("sha256") == _digest(text) \
            and previous.get("rows") == rows:  # the writer died between its two renames
        return
    if manifest["rows"] != rows:
        raise CorruptFileError(f"{path}: {rows} rows, its {name} records {manifest['rows']} "
                               f"(truncated or edited?); {FIX}")
    if manifest["sha256"] != _digest(text):
        raise CorruptFileError(f"{path}: differs from the digest its {name} records (edited, "
                               f"merged or damaged?); {FIX}, or delete {name} to read it as "
                               f"hand-made")


def _without_copies(path: Path, df: pd.DataFrame, lines: list[int], key: list[str]
                    ) -> pd.DataFrame:
    """``df`` with identical copies of a row dropped; two rows of one key that differ
    elsewhere are refused, naming both lines."""
    if not key or not df.duplicated(key).any():
        return df
    copies = df.duplicated(keep="first")
    kept, kept_lines = df[~copies], [n for n, c in zip(lines, copies, strict=True) if not c]
    clash = kept.duplicated(key, keep=False)
    if clash.any():
        first = kept[clash].iloc[0]
        same = (kept[key] == first[key]).all(axis=1).to_numpy().nonzero()[0][:2]
        where = " and ".join(str(kept_lines[i]) for i in same)
        value = ", ".join(f"{k}={first[k]}" for k in key)
        raise CorruptFileError(f"{path}: lines {where} share the key ({value}) with different "
                               f"values (a merge of two versions?); keep one of them")
    return kept.reset_index(drop=True)
