"""first_line: the one way an exception becomes one line; the sites that used to index an empty
message's first line ([0] of no lines) now give the exception's type name."""

from __future__ import annotations

import pytest

from textureade.errors import REASON_LIMIT, UserError, first_line


def test_first_line_of_an_exception():
    assert first_line(ValueError("\n  first  \nsecond")) == "first"
    assert first_line(ValueError("first\nsecond"), with_type=True) == "ValueError: first"
    assert first_line(ValueError("")) == "ValueError"
    assert first_line(ValueError(" \n "), with_type=True) == "ValueError"
    assert first_line(ValueError(""), "parse error") == "parse error"
    assert first_line(KeyError("k")) == "'k'"
    assert len(first_line(ValueError("x" * 2000), with_type=True)) == REASON_LIMIT
    assert first_line(UserError("advice " * 200)) == ("advice " * 200).strip()  # a message is whole


def test_first_line_of_text_is_valid_utf8():
    assert first_line("a\udcff b\nc") == "a\\xff b"  # a file name's undecodable byte, escaped
    assert first_line("") == "" and first_line("", "unreadable") == "unreadable"


def test_an_unreadable_parquet_file_with_an_empty_message_is_one_line(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from textureade.readers.detect import open_ade20k

    def no_schema(*args, **kwargs):
        raise OSError()

    (tmp_path / "part.parquet").write_bytes(b"PAR1")
    monkeypatch.setattr(pq, "read_schema", no_schema)
    with pytest.raises(
        UserError,
        match=r"cannot read the parquet file .*part\.parquet: OSError; re-download it \(or remove it\)$",
    ):
        open_ade20k(tmp_path / "part.parquet")
