"""`bench train --method detecture` on tiny random models (tiny Qwen3-VL + tiny SAM 3, loaded through
the production path) and 16 mosaics: the recipe, the loss pieces, what trains and what stays frozen,
the loss falling, checkpoints the `detecture` method runs, and resume == uninterrupted.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytest.importorskip("transformers")

import torch  # noqa: E402

from baselines import detecture_arch as arch  # noqa: E402
from baselines.detecture_train import DetectureTrainer  # noqa: E402
from baselines.detecture_train_parts import (  # noqa: E402
    lm_weights,
    mask_loss_sums,
    training_example,
)
from benchmark.training import TrainConfig, load_recipe, train  # noqa: E402
from textureade.errors import UserError  # noqa: E402
from textureade.types import Sample  # noqa: E402

pytestmark = [pytest.mark.models, pytest.mark.usefixtures("one_torch_thread")]

# a tiny run: 64 px, no crop, 1 + 1 epochs of 8 steps (batch 1 x accumulation 2) on 16 mosaics
TINY = """
model: {image_size: 64}
data: {crop_prob: 0.0, shuffle_buffer: 8}
training: {batch_size: 1, grad_accum: 2, epochs: 2, warmup_epochs: 0, save_every_steps: 4}
lr: {bridge: 1.0e-3, mask_head: 1.0e-3, dustbin: 1.0e-3, qwen_lora: 1.0e-4, seg_rows: 1.0e-3}
curriculum: {stage1_epochs: 1}
eval: {max_new_tokens: 8, limit: 2}
"""


@pytest.fixture(scope="module")
def world(tiny_weights, tmp_path_factory):
    from textureade.mosaic import make_mosaics

    root = tmp_path_factory.mktemp("train14")
    make_mosaics(root / "mosaics", n=16, k=(2, 3), size=(64, 64), seed=3)
    make_mosaics(root / "val", n=2, k=(2, 3), size=(64, 64), seed=4)
    (root / "tiny.yaml").write_text(TINY)
    params = {"vlm": str(tiny_weights.vlm("qwen3_vl")), "sam3": str(tiny_weights.sam3()), "device": "cpu",
              "dtype": "float32"}  # fmt: skip
    return root, params


def _cfg(world, out, **kw):
    root, params = world
    base = dict(method="detecture", dataset=str(root / "mosaics"), out=out, config=root / "tiny.yaml",
                val_dataset=str(root / "val"), options=dict(params), progress=False)  # fmt: skip
    return TrainConfig(**{**base, **kw})


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def full_run(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "run"
    summary = train(_cfg(world, out))
    return out, summary


# ---- the recipe and the pure pieces ---------------------------------------------------------
def test_recipe_is_the_published_one(tmp_path):
    r = load_recipe("detecture")
    assert r["model"]["lora_r"] == 8 and r["model"]["lora_alpha"] == 16
    assert r["model"]["lora_targets"] == ["q_proj", "v_proj"] and r["model"]["image_size"] == 1008
    assert r["model"]["seg_warmstart_token"] == "<|im_end|>" and r["model"]["bridge_dropout"] == 0.4
    t = r["training"]
    assert (t["batch_size"] * t["grad_accum"], t["epochs"], t["weight_decay"]) == (8, 30, 0.01)
    assert r["lr"] == {
        "bridge": 1e-4,
        "mask_head": 1e-4,
        "dustbin": 1e-4,
        "qwen_lora": 1e-6,
        "seg_rows": 1e-5,
    }
    assert r["curriculum"] == {"stage1_epochs": 8, "stage2_bridge_factor": 0.1}
    assert (r["loss"]["ce_weight"], r["loss"]["dice_weight"], r["loss"]["lm_weight"]) == (1.0, 3.0, 0.1)
    (tmp_path / "bad.yaml").write_text("training: {batch_sise: 4}\n")
    with pytest.raises(UserError, match="batch_sise"):
        load_recipe("detecture", tmp_path / "bad.yaml")
    with pytest.raises(UserError, match="no training recipe"):
        load_recipe("sam3")


def test_lm_weights_shifted_zero():
    seg, start = 9, 3
    ids = torch.tensor([1, 9, 1, 5, 5, 5, 9, 7, 5, 9, 2, 4])  # a prompt-side seg at 1 is ignored
    w = lm_weights(ids, start, seg, 2.0)
    assert w[:start].eq(0).all()
    assert w[6] == 1.0 and w[9] == 1.0  # emit <|seg|>
    assert w[7] == 0.0 and w[10] == 0.0  # the state of <|seg|> is left to the mask loss
    assert math.isclose(float(w[5]), 1 - math.exp(-2.0), rel_tol=1e-6)  # d = 1
    assert math.isclose(float(w[3]), 1 - math.exp(-6.0), rel_tol=1e-6)  # d = 3
    assert math.isclose(float(w[11]), 1 - math.exp(-4.0), rel_tol=1e-6)  # d = 2 after the last seg
    assert lm_weights(torch.tensor([1, 2, 3]), 1, seg, 2.0).eq(0).all()


def test_mask_loss_equals_seven_slots_with_inf_pads():
    """Live channels only == the authors' 7 slots with -inf pads (CE mean, Dice over live channels)."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 8, 8, generator=g)
    target = torch.randint(0, 3, (16, 16), generator=g)
    ce, dice = mask_loss_sums(logits, target, 1.0)
    up = torch.nn.functional.interpolate(logits[None], size=(16, 16), mode="bilinear", align_corners=False)
    seven = torch.cat([up, torch.full((1, 4, 16, 16), float("-inf"))], dim=1)
    want_ce = torch.nn.functional.cross_entropy(seven, target[None])
    probs = torch.softmax(seven, dim=1)[0]
    want_dice = (
        sum(
            1 - (2 * (probs[c] * (target == c)).sum() + 1) / (probs[c].sum() + (target == c).sum() + 1)
            for c in range(3)
        )
        / 3
    )
    torch.testing.assert_close(ce / target.numel(), want_ce)
    torch.testing.assert_close(dice / 3, want_dice)


def test_crop_keeps_two_regions_renumbered():
    labels = np.zeros((100, 100), np.int32)
    labels[:, 50:] = 2
    labels[:50, :50] = 1
    labels[60:, :10] = 3
    sample = Sample(id="s", image=np.zeros((100, 100, 3), np.uint8), label_map=labels,
                    descriptions=["Texture of a", "Texture of b", "Texture of c"])  # fmt: skip
    kept = 0
    for seed in range(20):
        ex = training_example(sample, 64, 6, 1.0, 300, 600, np.random.default_rng(seed))
        present = sorted(int(v) for v in np.unique(ex.target) if v)
        assert ex.image.shape == (64, 64, 3) and ex.target.shape == (64, 64)
        assert present == list(range(1, len(ex.descriptions) + 1)) and len(present) >= 2
        kept += len(present) == 2
        if len(present) == 2 and ex.descriptions[-1] == "Texture of b":
            assert (ex.target == 2).sum() > 0  # region "b" is label 2 of the crop's renumbering
    assert kept > 0  # some crops kept only two regions, renumbered 1..2
    plain = training_example(sample, 64, 2, 0.0, 300, 600, np.random.default_rng(0))
    assert (
        plain.descriptions == ["Texture of a", "Texture of b"] and plain.target.max() == 2
    )  # region 3 -> dustbin


# ---- what trains ------------------------------------------------------------------------------
def test_only_the_recipe_parameters_change(world):
    root, params = world
    recipe = load_recipe("detecture", root / "tiny.yaml")
    trainer = DetectureTrainer(params, recipe)
    trainer.schedule(2)
    frozen_vlm = {k: v.clone() for k, v in trainer.qwen.state_dict().items() if "lora_" not in k}
    sam = {k: v.clone() for k, v in trainer.sam.state_dict().items()}
    before = {k: v.clone() for k, v in trainer.trainable().items()}
    rows = trainer.embed_row.detach().clone(), trainer.head_row.detach().clone()
    from benchmark.datasets import open_dataset

    samples = list(open_dataset(str(root / "mosaics")).iter_samples(4))
    trained = {id(p) for g in trainer.optimizer.param_groups for p in g["params"]}
    for epoch in (0, 1):  # stage 1, then stage 2
        stage = trainer.start_epoch(epoch)
        on = {id(p) for p in [*trainer.qwen.parameters(), *trainer.heads.parameters(), *trainer.sam.parameters(),
                              trainer.embed_row, trainer.head_row] if p.requires_grad}  # fmt: skip
        heads = {id(p) for p in trainer.heads.parameters()}
        assert on == (heads if stage == 1 else trained)
        for i in range(2):
            trainer.micro_batch([samples[2 * i + epoch % 2]], [(0, epoch, i)])
            trainer.optimizer_step()
        if stage == 1:
            assert torch.equal(trainer.embed_row, rows[0]) and torch.equal(trainer.head_row, rows[1])
            assert all(torch.equal(v, before[k]) for k, v in trainer.trainable().items() if "lora_" in k)
    for k, v in trainer.qwen.state_dict().items():
        if "lora_" not in k:
            assert torch.equal(v, frozen_vlm[k]), k  # the frozen VLM (its seg row included) bit-identical
    assert all(torch.equal(v, sam[k]) for k, v in trainer.sam.state_dict().items())  # SAM 3 bit-identical
    after = trainer.trainable()
    changed = {k for k in after if not torch.equal(after[k], before[k])}
    lora_b = {k for k in after if "lora_B" in k}
    assert lora_b <= changed and {k for k in after if k.startswith(("bridge.", "mask_head."))} <= changed
    for key in (arch.EMBED_KEY, arch.LM_HEAD_KEY):  # only the <|seg|> row of the full tensors moved
        diff = (after[key] != before[key]).any(dim=1).nonzero().flatten().tolist()
        assert diff == [trainer.seg_id], key
    ref = trainer.processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
    torch.testing.assert_close(before[arch.EMBED_KEY][trainer.seg_id], before[arch.EMBED_KEY][ref])


# ---- whole runs -------------------------------------------------------------------------------
@pytest.mark.slow
def test_loss_falls_on_16_mosaics(world, tmp_path):
    root, _ = world
    (tmp_path / "fall.yaml").write_text(
        "model: {image_size: 64}\ndata: {crop_prob: 0.0, shuffle_buffer: 4}\n"
        "training: {batch_size: 2, grad_accum: 1, epochs: 4, warmup_epochs: 0, min_lr: 3.0e-3, save_every_steps: 0}\n"
        "lr: {bridge: 3.0e-3, mask_head: 3.0e-3, dustbin: 3.0e-3}\ncurriculum: {stage1_epochs: 8}\n"
    )
    summary = train(_cfg(world, tmp_path / "run", config=tmp_path / "fall.yaml", val_dataset=None))
    rows = _rows(tmp_path / "run" / "metrics.csv")
    assert summary.steps == len(rows) == 32  # 4 epochs of 8 steps (batch 2, constant LR 3e-3, stage 1)
    for key, factor in (("loss", 0.85), ("loss_dice", 0.75)):  # measured: 3.80 -> 2.88, 0.73 -> 0.46
        values = [float(r[key]) for r in rows]
        first, last = np.mean(values[:8]), np.mean(values[-8:])
        assert last < factor * first, (key, first, last)


@pytest.mark.slow
def test_run_writes_logs_and_a_checkpoint_the_method_runs(full_run, world, tmp_path):
    from benchmark.runner import RunConfig, run

    out, summary = full_run
    root, params = world
    steps = _rows(out / "metrics.csv")
    assert [int(r["step"]) for r in steps] == list(range(1, 17)) and summary.steps == 16
    assert {r["stage"] for r in steps[:8]} == {"1"} and {r["stage"] for r in steps[8:]} == {"2"}
    ratio = [float(r["lr_bridge"]) / float(r["lr_mask_head"]) for r in (steps[7], steps[8])]
    assert ratio == pytest.approx([1.0, 0.1])  # the Bridge's LR decays 10x at stage 2 entry
    evals = _rows(out / "eval.csv")
    assert [int(r["epoch"]) for r in evals] == [1, 2]
    assert {"val_miou", "val_ari", "val_seg_emitted"} <= set(evals[0])
    assert (out / "curves.png").stat().st_size > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tb = EventAccumulator(str(out / "tb"))
    tb.Reload()
    assert [e.step for e in tb.Scalars("train/loss")] == list(range(1, 17))
    assert [e.value for e in tb.Scalars("train/loss")] == pytest.approx([float(r["loss"]) for r in steps])
    assert [e.step for e in tb.Scalars("val/miou")] == [8, 16]
    for name in ("last.pt", "best.pt"):
        ckpt = torch.load(out / name, weights_only=True)
        assert set(ckpt["model_trainable"]) == arch.published_keys(2)
        assert {"epoch", "optimizer", "dustbin_embed", "val_iou", "phase"} <= set(ckpt)
    best = max(range(2), key=lambda i: (float(evals[i]["val_miou"]), -i))  # the first of equals
    assert torch.load(out / "best.pt", weights_only=True)["epoch"] == best
    res = run(RunConfig(method="detecture", dataset=str(root / "val"), out=tmp_path / "bench", progress=False,
                        options={**params, "checkpoint": str(out / "best.pt"), "max_new_tokens": 8}))  # fmt: skip
    assert res.n_records == 2 and res.n_failed == 0, res.failures


@pytest.mark.slow
def test_resume_after_a_crash_equals_uninterrupted(full_run, world, tmp_path, monkeypatch):
    out_full, _ = full_run
    out = tmp_path / "run"
    real = DetectureTrainer.optimizer_step
    calls = [0]

    def crash(self):
        calls[0] += 1
        if calls[0] == 7:  # after the step-4 checkpoint, before step 7 is logged
            raise KeyboardInterrupt
        return real(self)

    monkeypatch.setattr(DetectureTrainer, "optimizer_step", crash)
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(world, out))
    monkeypatch.setattr(DetectureTrainer, "optimizer_step", real)
    assert len(_rows(out / "metrics.csv")) == 6
    with pytest.raises(UserError, match="--resume"):
        train(_cfg(world, out))
    summary = train(_cfg(world, out, resume=True))
    assert summary.resumed_from == 4 and summary.steps == 16
    keys = ["step", "epoch", "stage", "loss", "loss_ce", "loss_dice", "loss_lm", "grad_norm"]
    a, b = _rows(out_full / "metrics.csv"), _rows(out / "metrics.csv")
    assert [[r[k] for k in keys] for r in a] == [
        [r[k] for k in keys] for r in b
    ]  # the same curve, bit for bit
    assert _rows(out_full / "eval.csv") == _rows(out / "eval.csv")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tb = EventAccumulator(str(out / "tb"))
    tb.Reload()
    assert [e.step for e in tb.Scalars("train/loss")] == list(
        range(1, 17)
    )  # steps 5-6 purged, then rewritten
    x = torch.load(out_full / "last.pt", weights_only=True)["model_trainable"]
    y = torch.load(out / "last.pt", weights_only=True)["model_trainable"]
    assert all(torch.equal(x[k], y[k]) for k in x)


def test_cli_train_max_steps(world, tmp_path):
    from click.testing import CliRunner

    from benchmark.cli import cli

    root, params = world
    opts = [x for k, v in params.items() for x in ("--option", f"{k}={v}")]
    args = ["train", "--method", "detecture", "--dataset", str(root / "mosaics"), "--out", str(tmp_path / "o"),
            "--config", str(root / "tiny.yaml"), "--max-steps", "2", "--no-progress", *opts]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "2 optimizer steps" in result.output
    rows = _rows(tmp_path / "o" / "metrics.csv")
    assert [r["step"] for r in rows] == ["1", "2"] and all(float(r["loss"]) > 0 for r in rows)
    assert (tmp_path / "o" / "last.pt").is_file()
    bad = CliRunner().invoke(cli, ["train", "--method", "sam3", "--dataset", str(root / "mosaics"), "--out",
                                   str(tmp_path / "p")])  # fmt: skip
    assert bad.exit_code != 0 and "no training recipe" in bad.output + str(bad.exception)
    with pytest.raises(UserError, match="vlm weights folder .* does not exist"):  # checked as for bench run
        train(_cfg(world, tmp_path / "q", options={**params, "vlm": str(tmp_path / "no-such-vlm")}))


@pytest.mark.slow
def test_textureade_build_trains_on_train_validates_on_validation(world, tmp_path, monkeypatch):
    import dataclasses

    from textureade.mosaic import mosaic_samples
    from textureade.store import DatasetWriter

    splits = ["train"] * 8 + ["validation"] * 2 + ["test"] * 2
    with DatasetWriter(tmp_path / "tade", name="tiny-tade", card={}, config={}) as writer:
        for split, s in zip(splits, mosaic_samples(12, k=(2, 3), seed=5, size=(64, 64)), strict=True):
            writer.add(dataclasses.replace(s, split=split))
    seen: list[str] = []
    real = DetectureTrainer.micro_batch

    def spy(self, samples, keys):
        seen.extend(s.id for s in samples)
        return real(self, samples, keys)

    monkeypatch.setattr(DetectureTrainer, "micro_batch", spy)
    summary = train(_cfg(world, tmp_path / "run", dataset=str(tmp_path / "tade"), val_dataset=None))
    assert summary.steps == 8 and summary.best_miou is not None  # 2 epochs x 8 train samples / 2
    assert sorted(set(seen)) == [f"mosaic-{i:05d}" for i in range(8)]  # never a validation or test image
    assert [float(r["val_images"]) for r in _rows(tmp_path / "run" / "eval.csv")] == [2.0, 2.0]


def test_csv_log_truncate_drops_later_and_torn_rows(tmp_path):
    from benchmark.training_logs import CsvLog

    log = CsvLog(tmp_path / "m.csv")
    for step in (1, 2, 3):
        log.append({"step": step, "loss": 1.0 / step})
    with open(tmp_path / "m.csv", "a") as f:
        f.write("1")  # a row torn by a kill: "1" of "12,..."
    CsvLog(tmp_path / "m.csv").truncate(2)
    assert [r["step"] for r in CsvLog(tmp_path / "m.csv").rows()] == ["1", "2"]


def test_detecture_folder_trains(world, tmp_path):
    from textureade.detecture_format import write_detecture_folder
    from textureade.mosaic import mosaic_samples

    folder = write_detecture_folder(
        list(mosaic_samples(4, k=(2, 3), seed=6, size=(64, 64))), tmp_path / "det"
    )
    summary = train(_cfg(world, tmp_path / "run", dataset=str(folder), val_dataset=None, max_steps=2))
    assert summary.steps == 2 and [r["step"] for r in _rows(tmp_path / "run" / "metrics.csv")] == ["1", "2"]
