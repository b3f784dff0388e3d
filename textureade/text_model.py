"""The sentence-embedding text model that scores descriptions: chosen, found offline, loaded, run.

Which model (:func:`resolve_text_model`): ``--text-model`` when given, else ``$TEXTUREADE_TEXT_MODEL``,
else :data:`DEFAULT_TEXT_MODEL`. A choice is one of

- a manifest name (``manifests/text_models/<name>.yaml``: ``model`` = hub id, ``revision`` = the
  pinned hub commit), e.g. ``all-minilm-l6-v2``;
- a hub id (``sentence-transformers/all-MiniLM-L6-v2``): looked up in the local Hugging Face cache
  only, at the revision a manifest pins for that id, else the cache's ``main``;
- a local folder holding the model (a sentence-transformers folder or a plain transformers one);
- ``none``: no text model (the description metrics are left out).

Nothing downloads: a model that is not here is a one-line :class:`TextModelUnavailable`
(:func:`find_text_model`), which the bench commands turn into "description metrics left out".

The encoder (:class:`TextEncoder`) is our own code on ``transformers.AutoModel`` /
``AutoTokenizer``, following the folder's sentence-transformers configuration as
``sentence_transformers.SentenceTransformer`` does: ``modules.json`` (Transformer, then Pooling,
then Normalize when listed), ``1_Pooling/config.json`` (cls / mean / max / mean-sqrt-len pooling
over the attention mask) and ``sentence_bert_config.json`` (``max_seq_length``, truncation). A
folder without ``modules.json`` gets mean pooling and no normalisation. It runs on the CPU, float32,
so scores do not depend on the machine's GPU.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from textureade.errors import UserError, first_line

ENV_TEXT_MODEL = "TEXTUREADE_TEXT_MODEL"
DEFAULT_TEXT_MODEL = "all-minilm-l6-v2"
NO_MODEL = ("none", "off")
POOLING_MODES = ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens")


class TextModelUnavailable(UserError):
    """The chosen text model is not here (one line saying how to get it)."""


@dataclass(frozen=True)
class TextModelRef:
    """A text model found on this machine (picklable: a Ray task loads it by this).

    choice: what was asked for (a manifest name, hub id or folder); model: the hub id (None for a
    folder); revision: the hub commit (None for a folder); path: the local folder read;
    manifest: the manifest it came from (None when none).
    """

    choice: str
    model: str | None
    revision: str | None
    path: str
    manifest: str | None = None

    def info(self) -> dict[str, Any]:
        """Provenance for run.json: the fields plus the folder's content fingerprint."""
        from textureade.fingerprint import weights_fingerprint

        fp = weights_fingerprint(self.path)
        return {
            "choice": self.choice, "model": self.model, "revision": self.revision, "path": self.path,
            "manifest": self.manifest, "sha256": fp.sha256, "files": fp.files, "bytes": fp.bytes,
        }  # fmt: skip


def read_text_model_manifest(name: str) -> dict[str, Any] | None:
    """The ``text_models/<name>.yaml`` mapping, or None when there is no such manifest."""
    from textureade.manifests import find_manifest
    from textureade.yamlfile import read_yaml_mapping

    path = None if "/" in name else find_manifest("text_models", f"{name}.yaml")
    if path is None:
        return None
    data = read_yaml_mapping(path, "text model manifest")
    if not isinstance(data.get("model"), str):
        raise UserError(f"text model manifest {path} must map 'model' to a hub id; fix the file")
    return {**data, "_path": str(path)}


def _manifest_for_hub_id(model: str) -> dict[str, Any] | None:
    """The manifest whose ``model`` is ``model`` (the last root wins), for its pinned revision."""
    from textureade.manifests import manifest_folders
    from textureade.yamlfile import read_yaml_mapping

    found = None
    for _, folder in manifest_folders("text_models"):
        for path in sorted(folder.glob("*.yaml")):
            data = read_yaml_mapping(path, "text model manifest")
            if data.get("model") == model:
                found = {**data, "_path": str(path)}
    return found


def resolve_text_model(choice: str | None = None) -> str | None:
    """The choice in force: ``choice``, else ``$TEXTUREADE_TEXT_MODEL``, else the default manifest;
    None when it says ``none``."""
    value = (choice or os.environ.get(ENV_TEXT_MODEL) or DEFAULT_TEXT_MODEL).strip()
    return None if value.lower() in NO_MODEL else value


def find_text_model(choice: str | None = None) -> TextModelRef | None:
    """The model :func:`resolve_text_model` picks, found offline; None for ``none``.

    TextModelUnavailable (one line) when it is not on this machine; nothing downloads.
    """
    value = resolve_text_model(choice)
    if value is None:
        return None
    folder = Path(os.path.expanduser(value))
    if folder.exists():
        if not (folder / "config.json").is_file():
            raise TextModelUnavailable(
                f"text model folder {value} has no config.json; pass a sentence-transformers model folder"
            )
        return TextModelRef(choice=value, model=None, revision=None, path=str(folder.resolve()))
    manifest = read_text_model_manifest(value)
    if manifest is None and (value.startswith(("/", ".", "~")) or value.count("/") != 1):
        raise TextModelUnavailable(
            f"text model {value!r} is neither a folder, a hub id nor a text_models manifest; "
            f"pass --text-model HUB_ID_OR_FOLDER (or set ${ENV_TEXT_MODEL})"
        )
    if manifest is None:
        manifest = _manifest_for_hub_id(value)
    model = manifest["model"] if manifest else value
    revision = str(manifest["revision"]) if manifest and manifest.get("revision") else None
    return TextModelRef(
        choice=value, model=model, revision=revision, path=_cached_snapshot(model, revision),
        manifest=manifest["_path"] if manifest else None,
    )  # fmt: skip


@dataclass(frozen=True)
class TextModelStatus:
    """Whether the description metrics have a text model: ``found`` (ref set), ``absent`` (not on
    this machine) or ``off`` (``none`` chosen); note: the one line saying what is left out, else None."""

    status: str
    choice: str | None
    ref: TextModelRef | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """run.json's ``text_model``: status, choice, note, and the model's provenance when found."""
        return {
            "status": self.status,
            "choice": self.choice,
            "note": self.note,
            **(self.ref.info() if self.ref else {}),
        }


LEFT_OUT = "description metrics desc_similarity and desc_distinct left out (desc_valid needs no model)"


def locate_text_model(choice: str | None = None) -> TextModelStatus:
    """:func:`find_text_model` for a command that goes on without the model: never raises for an
    absent one, says so in :attr:`TextModelStatus.note` instead."""
    value = resolve_text_model(choice)
    if value is None:
        return TextModelStatus("off", None, note=f"{LEFT_OUT}: no text model chosen (none)")
    try:
        ref = find_text_model(value)
    except TextModelUnavailable as exc:
        return TextModelStatus("absent", value, note=f"{LEFT_OUT}: {exc}")
    return TextModelStatus("found", value, ref=ref)


def _cached_snapshot(model: str, revision: str | None) -> str:
    """The local Hugging Face cache folder of ``model`` at ``revision``; TextModelUnavailable if absent."""
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(model, revision=revision, local_files_only=True)
    except Exception:  # noqa: BLE001 - not cached (or not a valid id): the same advice either way
        rev = f" --revision {revision}" if revision else ""
        raise TextModelUnavailable(
            f"text model {model!r}{' at ' + revision[:12] if revision else ''} is not in the local Hugging Face "
            f"cache (nothing downloads at run time); get it with `huggingface-cli download {model}{rev}` "
            f"or pass --text-model FOLDER"
        ) from None
    if not (Path(path) / "config.json").is_file():
        raise TextModelUnavailable(
            f"text model {model!r} in the Hugging Face cache at {path} has no config.json"
        )
    return str(path)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"text model: cannot read {path}: {first_line(exc)}") from None
    return data


@dataclass(frozen=True)
class PoolingConfig:
    """How token embeddings become one sentence embedding: mode (one of :data:`POOLING_MODES`),
    normalize (L2 after pooling), max_seq_length (tokens kept; None: the tokenizer's limit)."""

    mode: str = "mean_tokens"
    normalize: bool = False
    max_seq_length: int | None = None

    @classmethod
    def of_folder(cls, folder: str | Path) -> PoolingConfig:
        """Read from a sentence-transformers folder (modules.json, its Pooling folder's config.json,
        sentence_bert_config.json); defaults for a plain transformers folder."""
        root = Path(folder)
        st = root / "sentence_bert_config.json"
        max_len = _read_json(st).get("max_seq_length") if st.is_file() else None
        modules_file = root / "modules.json"
        if not modules_file.is_file():
            return cls(max_seq_length=max_len)
        modules = _read_json(modules_file)
        types = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
        unknown = sorted(set(types) - {"Transformer", "Pooling", "Normalize"})
        if unknown:
            raise UserError(
                f"text model {root}: modules {unknown} are not supported (Transformer, Pooling, Normalize)"
            )
        mode = "mean_tokens"
        for m, kind in zip(modules, types):
            if kind == "Pooling":
                cfg = _read_json(root / m.get("path", "") / "config.json")
                on = [k for k, v in cfg.items() if k.startswith("pooling_mode_") and v is True]
                modes = [k.removeprefix("pooling_mode_") for k in on]
                if len(modes) != 1 or modes[0] not in POOLING_MODES:
                    raise UserError(
                        f"text model {root}: pooling {modes} is not supported (one of {POOLING_MODES})"
                    )
                mode = modes[0]
        return cls(mode=mode, normalize="Normalize" in types, max_seq_length=max_len)


class TextEncoder:
    """Sentence embeddings from a local model folder (see the module docstring).

    ``encode(texts)`` -> N x D float32 array, row i the embedding of texts[i] (L2-normalised when
    the model's modules.json lists Normalize). batch_size: texts per forward pass.
    """

    def __init__(self, ref: TextModelRef, batch_size: int = 64) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        from textureade.hf import load_pretrained

        self.ref = ref
        self.pooling = PoolingConfig.of_folder(ref.path)
        self.batch_size = int(batch_size)
        self.tokenizer = load_pretrained(AutoTokenizer, ref.path, what="text model tokenizer")
        self.model = load_pretrained(AutoModel, ref.path, what="text model", dtype=torch.float32).eval()

    def encode(self, texts: list[str]) -> np.ndarray:
        import torch

        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, int(self.model.config.hidden_size)), np.float32)
        out = []
        max_len = self.pooling.max_seq_length or getattr(self.tokenizer, "model_max_length", 512)
        for start in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(
                texts[start : start + self.batch_size], padding=True, truncation=True,
                max_length=min(int(max_len), 100_000), return_tensors="pt",
            )  # fmt: skip
            with torch.inference_mode():
                tokens = self.model(**batch).last_hidden_state  # B x T x D
            out.append(pool(tokens, batch["attention_mask"], self.pooling).numpy())
        return np.concatenate(out).astype(np.float32, copy=False)


def pool(tokens: Any, mask: Any, config: PoolingConfig) -> Any:
    """B x T x D token embeddings and the B x T attention mask -> B x D sentence embeddings (torch)."""
    import torch

    m = mask.unsqueeze(-1).to(tokens.dtype)
    if config.mode == "cls_token":
        emb = tokens[:, 0]
    elif config.mode == "max_tokens":
        emb = tokens.masked_fill(m == 0, -1e9).max(dim=1).values
    else:
        summed, count = (tokens * m).sum(dim=1), m.sum(dim=1).clamp(min=1e-9)
        emb = summed / (count if config.mode == "mean_tokens" else count.sqrt())
    if config.normalize:
        emb = torch.nn.functional.normalize(emb, p=2, dim=1)
    return emb


@lru_cache(maxsize=2)
def load_text_encoder(ref: TextModelRef) -> TextEncoder:
    """The encoder of ``ref``, loaded once per process (a Ray worker loads it on its first task)."""
    return TextEncoder(ref)


__all__ = [
    "DEFAULT_TEXT_MODEL",
    "ENV_TEXT_MODEL",
    "PoolingConfig",
    "TextEncoder",
    "TextModelRef",
    "TextModelStatus",
    "TextModelUnavailable",
    "find_text_model",
    "load_text_encoder",
    "locate_text_model",
    "pool",
    "read_text_model_manifest",
    "resolve_text_model",
]
