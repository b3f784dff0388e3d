"""Loading Hugging Face models and processors offline, with one-line errors.

Weights are named by hub id (resolved only from the local cache: nothing downloads at run time)
or by a local folder. Revisions come from the manifests. ``trust_remote_code`` stays off unless the
caller passes it explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from textureade.errors import UserError, first_line


def is_local(name_or_path: str) -> bool:
    return Path(os.path.expanduser(str(name_or_path))).exists()


def _missing_msg(what: str, name: str, revision: str | None, exc: Exception) -> str:
    rev = f" --revision {revision}" if revision else ""
    first = first_line(exc)
    if is_local(name) or not isinstance(exc, (OSError, ValueError, KeyError)):
        # bad or truncated files, a missing package (its message says what to install)
        return f"{what}: cannot load {name}: {first[:200]}"
    if name.startswith(("/", ".", "~")) or name.count("/") > 1:  # a path, not an "org/name" hub id
        return f"{what}: folder {name} does not exist; pass an existing model folder or a hub id"
    return (
        f"{what}: weights {name!r} are not in the local Hugging Face cache (this tool never downloads); "
        f"get them with `huggingface-cli download {name}{rev}` or pass a local folder"
    )


def _wrong_model_type(loader: Any, path: str, revision: str | None) -> str | None:
    """For a concrete model class (``SamModel``, ``CLIPModel``; not Auto* or processors): None when
    the checkpoint's config is of its ``model_type`` (or holds such a sub-config, e.g. a CLIP text
    tower inside a CLIP checkpoint), else "a 'clip' model, not 'sam'". transformers itself only
    warns and loads such weights into a randomly initialised model."""
    want = getattr(getattr(loader, "config_class", None), "model_type", None)
    if not want:
        return None
    try:
        from transformers import AutoConfig, PretrainedConfig

        config = AutoConfig.from_pretrained(
            path, revision=None if is_local(path) else revision, local_files_only=True
        )
    except Exception:  # noqa: BLE001 - unreadable or absent config: the load below reports it
        return None
    types = {config.model_type} | {
        sub.model_type for sub in vars(config).values() if isinstance(sub, PretrainedConfig)
    }
    return None if want in types else f"a {config.model_type!r} model, not {want!r}"


def load_pretrained(
    loader: Any,
    name_or_path: str,
    *,
    what: str,
    revision: str | None = None,
    trust_remote_code: bool = False,
    **kwargs: Any,
) -> Any:
    """``loader.from_pretrained(name_or_path, ...)`` offline; UserError (one line) when it fails.

    loader: a transformers class (e.g. ``AutoProcessor``, ``Sam3Model``). what: the user-facing name
    of the thing being loaded (e.g. "sam3 model"), used in the error.
    """
    if not name_or_path:
        raise UserError(f"{what}: no weights given; pass a hub id or a local folder")
    path = os.path.expanduser(str(name_or_path))
    wrong = _wrong_model_type(loader, path, revision)
    if wrong:
        raise UserError(f"{what}: {name_or_path} holds {wrong}; pass the right weights")
    try:
        return loader.from_pretrained(
            path,
            revision=None if is_local(path) else revision,
            local_files_only=True,
            trust_remote_code=trust_remote_code,
            **kwargs,
        )
    except Exception as exc:  # any load failure is one line about these weights, never a traceback
        raise UserError(_missing_msg(what, str(name_or_path), revision, exc)) from None


def torch_dtype(name: str | None) -> Any:
    """ "float32" | "bfloat16" | "float16" | None -> torch dtype (None -> float32)."""
    import torch

    table = {
        "float32": torch.float32,
        "fp32": torch.float32,
        "bfloat16": torch.bfloat16,
        "bf16": torch.bfloat16,
        "float16": torch.float16,
        "fp16": torch.float16,
    }
    key = (name or "float32").lower()
    if key not in table:
        raise UserError(f"unknown dtype {name!r}; use one of float32, bfloat16, float16")
    return table[key]


def pick_device(name: str | None) -> str:
    """ "auto" | "cpu" | "cuda" | "cuda:N" -> a device string that exists here."""
    import torch

    if name in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device {name!r} asked for but no CUDA GPU is visible; use --option device=cpu")
    return name
