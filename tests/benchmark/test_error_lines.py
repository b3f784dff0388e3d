"""Sites that used to index an empty exception message's first line ([0] of no lines) and crashed
with IndexError: they now say the exception's type name."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from textureade.errors import UserError


def test_records_that_fail_with_an_empty_message_are_one_line(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from benchmark.records import read_records

    def unreadable(*args, **kwargs):
        raise OSError()

    (tmp_path / "records.parquet").write_bytes(b"PAR1")
    monkeypatch.setattr(pq, "ParquetFile", unreadable)
    with pytest.raises(UserError, match=r"cannot read records .*records\.parquet: OSError$"):
        read_records(tmp_path)


def test_the_report_says_why_a_dataset_with_an_empty_error_did_not_open(tmp_path, monkeypatch):
    import benchmark.datasets
    from benchmark.html_report.runs import open_run_dataset

    def refuse(*args, **kwargs):
        raise UserError("")

    monkeypatch.setattr(benchmark.datasets, "open_dataset", refuse)
    handle, why = open_run_dataset(SimpleNamespace(dataset="d"), {"d": tmp_path})
    assert handle is None and why == f"cannot open the dataset {tmp_path}: UserError"
