"""`bench train`'s recipe loading and logs on their own, without a trainer (the loop: tests/baselines/test_detecture_train.py)."""

from __future__ import annotations

import pytest

from benchmark.training_logs import CsvLog, TrainLogs
from benchmark.training_recipe import load_recipe
from textureade.errors import UserError


def _scalars(tb_dir) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tb_dir))
    acc.Reload()
    return {tag: [(e.step, round(e.value, 6)) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _write(logs: TrainLogs, steps: range, eval_at: tuple[int, ...]) -> None:
    for step in steps:
        logs.log_step({"step": step, "epoch": 1, "stage": "a", "loss": 1.0 / step}, {"loss": 1.0 / step})
        if step in eval_at:
            logs.log_eval(step, step // 2, {"val_miou": step / 10, "val_ari": 0.5}, best=True)
            logs.end_epoch()


def test_train_logs_write_csvs_events_and_curves_and_resume_drops_what_came_after(tmp_path):
    logs = TrainLogs(tmp_path)
    _write(logs, range(1, 5), eval_at=(2, 4))
    logs.close()
    assert [r["step"] for r in CsvLog(tmp_path / "metrics.csv").rows()] == ["1", "2", "3", "4"]
    evals = CsvLog(tmp_path / "eval.csv").rows()
    assert [(r["step"], r["epoch"], r["val_miou"], r["best"]) for r in evals] == [
        ("2", "1", "0.2", "1"),
        ("4", "2", "0.4", "1"),
    ]
    assert (tmp_path / "curves.png").stat().st_size > 0
    uninterrupted = _scalars(tmp_path / "tb")
    assert uninterrupted["val/miou"] == [(2, 0.2), (4, 0.4)] and len(uninterrupted["train/loss"]) == 4

    # a run killed after step 4 that resumes from its step-2 checkpoint and redoes steps 3 and 4
    resumed = tmp_path / "resumed"
    logs = TrainLogs(resumed)
    _write(logs, range(1, 5), eval_at=(2, 4))
    logs.close()
    logs = TrainLogs(resumed, resumed_from=2)
    assert [r["step"] for r in CsvLog(resumed / "metrics.csv").rows()] == ["1", "2"]
    assert [r["step"] for r in CsvLog(resumed / "eval.csv").rows()] == ["2"]
    _write(logs, range(3, 5), eval_at=(4,))
    logs.close()
    assert CsvLog(resumed / "metrics.csv").rows() == CsvLog(tmp_path / "metrics.csv").rows()
    assert CsvLog(resumed / "eval.csv").rows() == evals
    assert _scalars(resumed / "tb") == uninterrupted  # the events after step 2 purged, then rewritten


def test_recipe_is_the_manifest_with_the_config_on_top_and_a_typo_is_one_line(tmp_path):
    recipe = load_recipe("detecture")
    assert {"training", "data"} <= set(recipe)
    (tmp_path / "c.yaml").write_text("training: {epochs: 3}\n")
    merged = load_recipe("detecture", tmp_path / "c.yaml")
    assert merged["training"]["epochs"] == 3
    assert {k: v for k, v in merged["training"].items() if k != "epochs"} == {
        k: v for k, v in recipe["training"].items() if k != "epochs"
    }
    (tmp_path / "typo.yaml").write_text("training: {epoch: 3}\n")
    with pytest.raises(UserError, match=r"unknown recipe key 'epoch'") as err:
        load_recipe("detecture", tmp_path / "typo.yaml")
    assert "\n" not in str(err.value)
    (tmp_path / "flat.yaml").write_text("training: 3\n")  # a value where the recipe has a section
    with pytest.raises(UserError, match=r"flat.yaml: training is a section of the recipe \(keys .*epochs"):
        load_recipe("detecture", tmp_path / "flat.yaml")
    (tmp_path / "bad.yaml").write_text("training: {epochs: 3\n")
    with pytest.raises(UserError, match=r"^--config .*bad.yaml is not valid YAML \(.*\); fix the file$"):
        load_recipe("detecture", tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- training\n")
    with pytest.raises(UserError, match="list.yaml must hold a mapping of keys to values"):
        load_recipe("detecture", tmp_path / "list.yaml")
    with pytest.raises(UserError, match="has no training recipe"):
        load_recipe("no-such-method")
