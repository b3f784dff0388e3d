"""`bench train`: a method's training recipe run on a dataset; resumable; evaluated as it trains.

``train(TrainConfig(method="detecture", dataset=..., out=...))`` reads the recipe
``manifests/train/<method>.yaml`` (a ``--config`` YAML of the same shape overrides values;
:mod:`benchmark.training_recipe`), builds
the recipe's ``trainer:`` class (method-specific code in ``baselines``, loaded by name) with the
method's params resolved exactly as for `bench run` (manifest, weights, ``--option``), and writes
into ``out`` (the logs through :mod:`benchmark.training_logs`):

- ``metrics.csv``: one row per optimizer step (step, epoch, stage, loss and its terms, grad norm,
  the learning rate of each parameter group, samples seen, seconds);
- ``eval.csv``: one row per epoch: the harness's scorer (``benchmark.metrics.score_partition`` on
  ``prediction_to_partition`` of the method's own ``predict``, autonomous protocol, score maps
  with ``n_pred=K`` as `bench run` scores them) averaged over the validation images (failures
  count 0), plus the trainer's per-image extras (e.g. seg rate);
- ``tb/``: the same numbers as TensorBoard events (``torch.utils.tensorboard``); ``curves.png``;
- ``last.pt`` every ``save_every_steps`` optimizer steps and after each epoch's evaluation;
  ``best.pt`` when the validation mIoU (``miou_matched``) improves. Both are the trainer's
  published checkpoint layout plus a ``train_state`` entry (step, epoch, data position, torch RNG,
  best score); written atomically (:func:`textureade.fileio.atomic_path`).
- ``recipe.yaml``: the resolved recipe.

Data: the training stream is shuffled per epoch with a seeded buffer (``data.shuffle_buffer``;
the same order for the same seed and epoch); an epoch is ``steps_per_epoch = N // (batch_size *
grad_accum)`` optimizer steps (the remainder is dropped, reshuffled next epoch). Resuming
(``resume=True``) loads ``last.pt``, restores every state, streams past the samples already
used in that epoch and truncates the logs to the checkpoint's step, so the curve equals that of an
uninterrupted run (bit for bit on CPU).

Trainer protocol (see ``baselines.detecture_train.DetectureTrainer``): ``Trainer(params, recipe)``;
``start_epoch(epoch) -> stage``; ``schedule(steps_per_epoch)``; ``micro_batch(samples, keys) ->
{term: float}`` (forward + backward of one micro-batch, already divided by grad_accum);
``optimizer_step() -> {name: float}``; ``checkpoint() -> dict``; ``load_checkpoint(dict)``;
``predictor()`` (a method with ``predict``, in eval mode) and ``train_mode()``;
``eval_extras(prediction) -> {name: float}``; ``data_splits(handle_path) -> (train_split, val_split)``.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from benchmark.datasets import open_dataset
from benchmark.training_logs import TrainLogs
from benchmark.training_recipe import load_recipe
from textureade.errors import UserError
from textureade.fileio import atomic_path, atomic_write
from textureade.yamlfile import read_yaml_mapping


@dataclass
class TrainConfig:
    """What `bench train` was asked. options: ``--option`` key=value (method params)."""

    method: str
    dataset: str
    out: Path
    config: Path | None = None
    val_dataset: str | None = None
    data_path: str | None = None
    max_steps: int | None = None
    resume: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    progress: bool = True


@dataclass
class TrainSummary:
    """What a `bench train` call did."""

    out: Path
    steps: int
    epochs_done: int
    last_loss: float | None
    best_miou: float | None
    resumed_from: int | None


# ---- data -------------------------------------------------------------------------------
def shuffled(samples: Any, seed: int, epoch: int, buffer: int) -> Any:
    """Yield ``samples`` in a seeded buffer-shuffled order (same seed and epoch: same order)."""
    rng = np.random.default_rng([seed, epoch, 7919])
    pool: list[Any] = []
    for s in samples:
        if len(pool) < max(1, buffer):
            pool.append(s)
            continue
        j = int(rng.integers(len(pool)))
        out, pool[j] = pool[j], s
        yield out
    for j in rng.permutation(len(pool)):
        yield pool[int(j)]


def open_split(name: str, data_path: str | None, split: str | None) -> Any:
    """A dataset handle, restricted to ``split`` for TextureADE-form folders (None: every sample)."""
    handle = open_dataset(name, path=data_path)
    if split is not None and handle.form == "textureade" and handle.path is not None:
        from benchmark.datasets.textureade import open_textureade

        handle = open_textureade(handle.path, split=split, name=handle.name)
    return handle


def shard_splits(handle: Any) -> set[str]:
    """The splits of a TextureADE-form folder's shards (``data/<split>-NNNNN.parquet``); else empty."""
    if handle.form != "textureade" or handle.path is None:
        return set()
    from textureade.store.shards import SHARD_RE, list_shards

    return {m.group("split") for p in list_shards(handle.path) if (m := SHARD_RE.match(p.name))}


# ---- evaluation -------------------------------------------------------------------------
def evaluate(trainer: Any, handle: Any, limit: int | None) -> dict[str, float]:
    """Mean scores of the trainer's live predictions on ``handle`` (autonomous: no K, no text)."""
    from benchmark.metrics import score_failure, score_partition
    from benchmark.protocol import prediction_to_partition

    method = trainer.predictor()
    totals: dict[str, float] = {}
    n = failed = 0
    try:
        for sample in handle.iter_samples(limit):
            extras: dict[str, float] = {}
            try:
                pred = method.predict(sample.image, None, None)
                part, info = prediction_to_partition(pred, sample.label_map.shape)
                # as bench run scores it: score maps over all K channels (n_pred=K, the authors' mIoU)
                scores = score_partition(part, sample.label_map, **handle.scoring, n_pred=info.n_channels)
                extras = trainer.eval_extras(pred)
            except Exception:  # noqa: BLE001 - a failed image scores 0, as in bench run
                scores, failed = score_failure(sample.label_map, **handle.scoring), failed + 1
            for key, value in {"miou": scores["miou_matched"], "ari": scores["ari"], **extras}.items():
                totals[key] = totals.get(key, 0.0) + float(value)
            n += 1
    finally:
        trainer.train_mode()
    out = {f"val_{k}": v / max(n, 1) for k, v in totals.items()}
    out.update(val_images=float(n), val_failed=float(failed))
    return out


# ---- the loop ---------------------------------------------------------------------------
def _save(trainer: Any, path: Path, state: dict[str, Any], val_iou: float | None = None) -> None:
    """The trainer's checkpoint + ``epoch`` (last finished, 0-based, as the authors count), ``val_iou``
    and our ``train_state``, written atomically."""
    import torch

    payload = trainer.checkpoint()
    payload.update(epoch=max(int(state["epochs_done"]) - 1, 0), val_iou=val_iou)
    payload["train_state"] = {**state, "torch_rng": torch.get_rng_state()}
    if torch.cuda.is_available():
        payload["train_state"]["cuda_rng"] = torch.cuda.get_rng_state_all()
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def train(cfg: TrainConfig) -> TrainSummary:
    """Run the recipe (see the module docstring); returns what was done."""
    import torch
    from tqdm import tqdm

    from benchmark.registry import get_method_spec, load_class, resolve_params
    from benchmark.weights import weights_entries, weights_problem

    out = Path(cfg.out)
    recipe = load_recipe(cfg.method, cfg.config)
    spec = get_method_spec(recipe.get("method", cfg.method))
    params = resolve_params(spec, cfg.options)
    # the weights are checked as for `bench run`, except a trained checkpoint (training starts without one)
    check = getattr(load_class(spec.entry), "check_available", None)
    problem = (check(params) if check else None) or weights_problem(
        [e for e in weights_entries(spec.weights) if not e.file], params
    )
    if problem:
        raise UserError(f"{spec.name}: {problem}")
    tr, data = recipe["training"], recipe["data"]
    seed, batch, accum = int(tr["seed"]), int(tr["batch_size"]), int(tr["grad_accum"])
    if batch < 1 or accum < 1 or int(tr["epochs"]) < 1:
        raise UserError("recipe: batch_size, grad_accum and epochs must be >= 1")
    if (out / "last.pt").exists() and not cfg.resume:
        raise UserError(f"{out} already holds a training run (last.pt); pass --resume or another --out")
    if cfg.resume and not (out / "last.pt").is_file():
        raise UserError(f"--resume: no {out / 'last.pt'} to resume from")

    train_handle = open_split(cfg.dataset, cfg.data_path, None)
    splits = shard_splits(train_handle)
    train_split = "train" if "train" in splits else None
    if splits and train_split is None and not _is_mosaic(train_handle):
        raise UserError(f"{cfg.dataset}: no train split (shards: {sorted(splits)}); never trains on test")
    train_handle = open_split(cfg.dataset, cfg.data_path, train_split)
    if cfg.val_dataset:
        val_handle = open_split(cfg.val_dataset, None, "validation" if "validation" in splits else None)
    elif "validation" in splits:
        val_handle = open_split(cfg.dataset, cfg.data_path, "validation")
    else:
        val_handle = None

    torch.manual_seed(seed)
    trainer = load_class(recipe["trainer"])(params, recipe)
    ckpt = torch.load(out / "last.pt", map_location="cpu", weights_only=True) if cfg.resume else None
    if ckpt is not None and (out / "recipe.yaml").is_file():
        if read_yaml_mapping(out / "recipe.yaml", "training recipe") != recipe:
            raise UserError(f"--resume: {out} was started with another recipe (see its recipe.yaml)")
    # the sample count is counted once (a streaming pass) and kept in the checkpoint for resuming
    n_samples = int(ckpt["train_state"]["n_samples"]) if ckpt else sum(1 for _ in train_handle.iter_samples())
    per_step = batch * accum
    steps_per_epoch = n_samples // per_step
    if steps_per_epoch < 1:
        raise UserError(f"{cfg.dataset}: {n_samples} training samples, fewer than one step ({per_step})")
    trainer.schedule(steps_per_epoch)

    out.mkdir(parents=True, exist_ok=True)
    state = {
        "step": 0,
        "epoch": 0,
        "position": 0,
        "best_miou": None,
        "epochs_done": 0,
        "n_samples": n_samples,
    }
    resumed_from = None
    if ckpt is not None:
        trainer.load_checkpoint(ckpt)
        saved = ckpt["train_state"]
        state = {k: saved[k] for k in state}
        torch.set_rng_state(saved["torch_rng"])
        if "cuda_rng" in saved and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(saved["cuda_rng"])
        resumed_from = int(state["step"])
    logs = TrainLogs(out, resumed_from)  # on resume: the rows and events after the checkpoint dropped
    atomic_write(out / "recipe.yaml", yaml.safe_dump(recipe, sort_keys=False))
    epochs, save_every = int(tr["epochs"]), int(tr.get("save_every_steps") or 0)
    limit_steps = cfg.max_steps
    eval_limit = recipe.get("eval", {}).get("limit")
    bar = tqdm(total=epochs * steps_per_epoch, initial=int(state["step"]), disable=not cfg.progress,
               desc=f"train {cfg.method}", unit="step")  # fmt: skip
    last_loss = None
    t0 = time.perf_counter()
    try:
        while state["epoch"] < epochs:
            epoch = int(state["epoch"])
            stage = trainer.start_epoch(epoch)
            stream = shuffled(train_handle.iter_samples(), seed, epoch, int(data.get("shuffle_buffer", 256)))
            used = steps_per_epoch * per_step
            for _ in range(int(state["position"])):  # resume: stream past the samples already used
                _next(stream, cfg.dataset)
            while state["position"] < used:
                if limit_steps is not None and state["step"] >= limit_steps:
                    _save(trainer, out / "last.pt", state)
                    return TrainSummary(out, int(state["step"]), int(state["epochs_done"]), last_loss,
                                        state["best_miou"], resumed_from)  # fmt: skip
                terms: dict[str, float] = {}
                for _ in range(accum):
                    pos = int(state["position"])
                    samples = [_next(stream, cfg.dataset) for _ in range(batch)]
                    keys = [(seed, epoch, pos + i) for i in range(batch)]
                    for k, v in trainer.micro_batch(samples, keys).items():
                        terms[k] = terms.get(k, 0.0) + v
                    state["position"] = pos + batch
                info = trainer.optimizer_step()
                state["step"] += 1
                step = int(state["step"])
                last_loss = terms.get("loss")
                row = {"step": step, "epoch": epoch + 1, "stage": stage, **terms, **info,
                       "samples": step * per_step, "seconds": round(time.perf_counter() - t0, 3)}  # fmt: skip
                logs.log_step(row, {**terms, **info})
                bar.update(1)
                bar.set_postfix(loss=f"{last_loss:.4f}", stage=stage)
                if save_every and step % save_every == 0 and state["position"] < used:
                    _save(trainer, out / "last.pt", state)
            # epoch end: evaluate, then checkpoint (last.pt always, best.pt on a better mIoU)
            state.update(epoch=epoch + 1, position=0, epochs_done=epoch + 1)
            scores = evaluate(trainer, val_handle, eval_limit) if val_handle is not None else {}
            better = bool(scores) and (state["best_miou"] is None or scores["val_miou"] > state["best_miou"])
            if better:
                state["best_miou"] = scores["val_miou"]
            if scores:
                logs.log_eval(int(state["step"]), epoch + 1, scores, better)
            _save(trainer, out / "last.pt", state, scores.get("val_miou"))
            if better:  # the same bytes: copied, not serialised twice
                with atomic_path(out / "best.pt") as tmp:
                    shutil.copyfile(out / "last.pt", tmp)
            logs.end_epoch()
    finally:
        bar.close()
        logs.close()
    return TrainSummary(out, int(state["step"]), int(state["epochs_done"]), last_loss, state["best_miou"],
                        resumed_from)  # fmt: skip


def _next(stream: Any, name: str) -> Any:
    try:
        return next(stream)
    except StopIteration:
        raise UserError(
            f"{name}: the dataset yielded fewer samples than when the run counted them "
            "(changed since, or rows now unreadable); start a new run"
        ) from None


def _is_mosaic(handle: Any) -> bool:
    from benchmark.datasets.mosaics import is_mosaic_set

    return handle.path is not None and is_mosaic_set(handle.path)
