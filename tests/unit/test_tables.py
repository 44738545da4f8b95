"""The strict table reader and its writer (benchmarks/common/tables.py), and the Markdown
escaping of CSV text (leaderboard/md.py). Each damage is first shown to fool a plain
``pd.read_csv`` (or the old renderer), then shown refused, naming the file and the line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.common.fsio import CorruptFileError
from benchmarks.common.schema import RESULTS, TableSpec
from benchmarks.common.tables import manifest_path, read_table, write_table
from leaderboard.md import escape

KEY = RESULTS.key


def _rows(n: int = 4) -> pd.DataFrame:
    """``n`` results-shaped rows with distinct keys; ``value`` 0.464, 0.465, ..."""
    return pd.DataFrame([{"task": "t", "task_key": "t-1", "method_key": f"m{i}",
                          "method_label": f"M{i}", "metric": "lds", "variant": "spearman",
                          "split": "eval", "profile": "quick", "value": 0.464 + i / 1000}
                         for i in range(n)])


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "results.csv"
    write_table(path, _rows(), KEY)
    return path


def _lines(path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def test_round_trip_keeps_rows_and_writes_a_manifest(table):
    assert read_table(table, RESULTS).equals(_rows())
    manifest = json.loads(manifest_path(table).read_text())
    assert manifest["rows"] == 4 and manifest["key"] == list(KEY)
    assert read_table(table).equals(_rows())  # the key from the manifest


def test_an_extra_field_per_row_is_refused_not_read_shifted(table):
    lines = _lines(table)
    table.write_text(lines[0] + "".join(ln.rstrip("\n") + ",x\n" for ln in lines[1:]))
    shifted = pd.read_csv(table)  # pandas takes the first field as the index
    assert list(shifted.index) == ["t"] * 4 and shifted["task"].iloc[0] == "t-1"
    manifest_path(table).unlink()  # even a hand-made table
    with pytest.raises(CorruptFileError, match=r"results.csv: line 2 has 10 fields, the "
                                               r"header 9"):
        read_table(table, RESULTS)


def test_a_missing_field_is_refused_not_padded(table):
    lines = _lines(table)
    table.write_text("".join(lines[:3]) + lines[3].rsplit(",", 1)[0] + "\n" + lines[4])
    assert pd.read_csv(table)["value"].isna().sum() == 1  # pandas pads the short row
    with pytest.raises(CorruptFileError, match="results.csv: line 4 has 8 fields"):
        read_table(table, RESULTS)


def test_conflicting_duplicates_are_refused_naming_both_lines(table):
    manifest_path(table).unlink()  # a merge: the manifest would disagree too
    lines = _lines(table)
    table.write_text("".join(lines) + lines[1].replace("0.464", "0.999"))
    assert len(pd.read_csv(table)) == 5  # both survive a plain read
    with pytest.raises(CorruptFileError, match=r"results.csv: lines 2 and 6 share the key "
                                               r"\(task_key=t-1, method_key=m0, .*different"):
        read_table(table, RESULTS)


def test_identical_duplicates_are_collapsed(table, capsys):
    manifest_path(table).unlink()
    lines = _lines(table)
    table.write_text("".join(lines) + lines[2])
    assert read_table(table, RESULTS).equals(_rows())
    assert "no results.csv.manifest.json" in capsys.readouterr().err


def test_a_cut_at_a_line_break_is_refused_by_the_manifest(table):
    lines = _lines(table)
    table.write_text("".join(lines[:-1]))
    assert len(pd.read_csv(table)) == 3  # a plain read loses the row silently
    with pytest.raises(CorruptFileError, match=r"results.csv: 3 rows, its "
                                               r"results.csv.manifest.json records 4"):
        read_table(table, RESULTS)


def test_a_cut_mid_row_is_refused(table):
    text = table.read_text()
    table.write_text(text[:-5])
    with pytest.raises(CorruptFileError, match="results.csv: ends mid-row"):
        read_table(table, RESULTS)


def test_an_edit_that_keeps_the_row_count_is_refused_by_the_digest(table):
    table.write_text(table.read_text().replace("0.465", "0.965"))
    with pytest.raises(CorruptFileError, match="differs from the digest"):
        read_table(table, RESULTS)
    manifest_path(table).write_text("{not json")
    with pytest.raises(CorruptFileError, match="results.csv.manifest.json: not a table"):
        read_table(table, RESULTS)


def test_a_table_without_a_manifest_is_read_with_one_warning(tmp_path, capsys):
    path = tmp_path / "hand.csv"
    _rows().to_csv(path, index=False)
    read_table(path, RESULTS)
    read_table(path, RESULTS)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "hand.csv" in err[0] and err[0].startswith("warning:")


def test_crlf_line_endings_keep_the_digest(table):
    table.write_bytes(table.read_bytes().replace(b"\n", b"\r\n"))
    assert read_table(table, RESULTS).equals(_rows())


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("t-1", "", 1), "line 2: empty key cell 'task_key'"),
    (lambda t: t.replace("0.466", "0.466x"), "line 4: value = '0.466x' is not a number"),
    (lambda t: t.replace("method_label", "method_key", 1), "repeated column name"),
    (lambda t: t.replace("method_label", " ", 1), "empty or repeated column name"),
])
def test_bad_cells_and_headers_are_refused_naming_the_line(table, edit, message):
    manifest_path(table).unlink()
    table.write_text(edit(table.read_text()))
    with pytest.raises(CorruptFileError, match=f"results.csv: .*{message}"):
        read_table(table, RESULTS)


def test_the_writer_refuses_rows_sharing_a_key(tmp_path):
    rows = pd.concat([_rows(), _rows().iloc[[0]].assign(value=0.999)])
    with pytest.raises(ValueError, match="repeat a key"):
        write_table(tmp_path / "results.csv", rows, KEY)
    assert not (tmp_path / "results.csv").exists()


def test_an_empty_table_reads_as_no_rows(tmp_path):
    path = tmp_path / "empty.csv"
    write_table(path, pd.DataFrame(), ())
    assert read_table(path, TableSpec(("a",))).empty


@pytest.mark.parametrize("text, shown", [
    ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
    ("# heading\n## two", "\\# heading \\#\\# two"),
    ("[click](http://x) **bold** _i_ ~s~ $x$ a|b", "[click\\](http://x) \\*\\*bold\\*\\* "
                                                   "\\_i\\_ \\~s\\~ \\$x\\$ a\\|b"),
    ("modular-addition[overlap=0.5]", "modular-addition[overlap=0.5]"),
])
def test_markdown_text_is_escaped(text, shown):
    assert escape(text) == shown


def test_code_spans_survive_backticks_and_pipes():
    assert escape("kernel_sm-1a", code=True) == "`kernel_sm-1a`"
    assert escape("a`b", code=True) == "``a`b``"
    assert escape("`x``", code=True) == "``` `x`` ```"
    assert escape("a|b", code=True, cell=True) == "`a\\|b`"
    assert escape("a|b", code=True) == "`a|b`"


def test_a_writer_killed_between_its_two_renames_leaves_the_old_table_readable(tmp_path,
                                                                              monkeypatch):
    """The manifest goes first and vouches for the table it replaces: a kill before the
    table's rename leaves the old table, read without complaint; a cut copy of it is still
    refused."""
    import benchmarks.common.tables as tables

    path = tmp_path / "t.csv"
    old = pd.DataFrame({"k": ["a", "b"], "v": [1.0, 2.0]})
    tables.write_table(path, old, ["k"])
    real = tables.atomic_write_text

    def killed(where, text):
        if Path(where) == path:
            raise KeyboardInterrupt
        real(where, text)

    monkeypatch.setattr(tables, "atomic_write_text", killed)
    with pytest.raises(KeyboardInterrupt):
        tables.write_table(path, pd.DataFrame({"k": ["a"], "v": [3.0]}), ["k"])
    monkeypatch.undo()
    pd.testing.assert_frame_equal(tables.read_table(path), old)
    path.write_text(path.read_text().splitlines(keepends=True)[0] + "a,1.0\n")
    with pytest.raises(CorruptFileError):
        tables.read_table(path)
