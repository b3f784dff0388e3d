"""Reading tensors out of third-party PyTorch checkpoints without running their pickled code.

Official checkpoints (a Lightning ``.ckpt``, a training ``.pth``) hold a state dict plus training
state: hyper-parameters, configs, optimizer state, sometimes as instances of classes from
packages we do not have (omegaconf, pytorch_lightning). ``torch.load(weights_only=True)`` refuses
those. Then we unpickle again with a restricted unpickler:

- globals on torch's own weights-only allow-list (tensor rebuild functions, dtypes, OrderedDict,
  ...) resolve normally;
- every other global is *never imported and never called*: it becomes an inert placeholder
  class that only records its name and the arguments pickle hands it;
- the state dict we return must consist of tensors only; a placeholder anywhere inside it is
  refused with a one-line error (the rest of the checkpoint, e.g. a pickled config, is dropped).

So no code from the file runs, whatever it names. A ``.safetensors`` file holds tensors only and is
read with safetensors; :func:`load_state_dict` is the one loader every baseline uses.
"""

from __future__ import annotations

import pickle
import types
import zipfile
from pathlib import Path
from typing import Any

from textureade.errors import UserError, first_line


class Opaque:
    """An inert stand-in for an object of a class the checkpoint names but we refuse to import."""

    _qualname = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs, self.state, self.items = args, kwargs, None, []

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.items.append((key, value))

    def append(self, value: Any) -> None:
        self.items.append(value)

    def extend(self, values: Any) -> None:
        self.items.extend(values)

    def __repr__(self) -> str:
        return f"<opaque {self._qualname}>"


def _allowed() -> dict[str, Any]:
    from torch import _weights_only_unpickler as wou

    return dict(wou._get_allowed_globals())


class _RestrictedUnpickler(pickle.Unpickler):
    allowed: dict[str, Any] = {}
    refused: set[str] = set()

    def find_class(self, module: str, name: str) -> Any:
        key = f"{module}.{name}"
        if key in self.allowed:
            return self.allowed[key]
        self.refused.add(key)
        return type(name, (Opaque,), {"_qualname": key})


def _restricted_module() -> types.ModuleType:
    mod = types.ModuleType("textureade_restricted_pickle")

    class Unpickler(_RestrictedUnpickler):
        allowed = _allowed()
        refused: set[str] = set()

    def load(file: Any, **kwargs: Any) -> Any:
        return Unpickler(file, **kwargs).load()

    mod.Unpickler = Unpickler  # type: ignore[attr-defined]
    mod.load = load  # type: ignore[attr-defined]
    mod.__name__ = "pickle"
    return mod


def _existing(path: str | Path | None, what: str) -> Path:
    """``path`` as a Path to an existing file, else UserError (one line)."""
    if not path:
        raise UserError(f"{what}: no checkpoint given")
    p = Path(path).expanduser()
    if not p.is_file():
        raise UserError(f"{what}: checkpoint {p} not found")
    return p


def load_torch_file(path: str | Path, what: str) -> tuple[Any, list[str]]:
    """The unpickled checkpoint and the class names that were neutralised (empty for weights_only).

    Raises UserError (one line) when the file is missing or is not a torch checkpoint.
    """
    import torch

    p = _existing(path, what)
    with open(p, "rb") as fh:
        head = fh.read(2)
    if not zipfile.is_zipfile(p) and head[:1] != b"\x80":  # neither torch's zip format nor a pickle
        raise UserError(f"{what}: {p} is not a readable torch checkpoint (neither zip nor pickle)")
    try:
        return torch.load(p, map_location="cpu", weights_only=True), []
    except pickle.UnpicklingError:
        pass  # non-tensor objects inside: read again below, neutralising them
    except Exception as exc:  # noqa: BLE001 - zip/struct/EOF errors: not a checkpoint
        first = first_line(exc)[:160]
        raise UserError(f"{what}: {p} is not a readable torch checkpoint ({first})") from None
    mod = _restricted_module()
    try:
        obj = torch.load(p, map_location="cpu", weights_only=False, pickle_module=mod)
    except Exception as exc:  # noqa: BLE001 - any failure of a foreign pickle is the file's problem
        first = first_line(exc)[:160]
        raise UserError(f"{what}: cannot read {p} safely ({type(exc).__name__}: {first})") from None
    return obj, sorted(mod.Unpickler.refused)


def extract_state_dict(
    obj: Any, what: str, keys: tuple[str, ...] = ("state_dict", "model")
) -> dict[str, Any]:
    """The tensor state dict inside a loaded checkpoint: ``obj[key]`` for the first key present, else obj.

    Every value must be a tensor (a neutralised object there is refused, one line).
    """
    import torch

    sd = obj
    if isinstance(obj, dict):
        for key in keys:
            if key in obj and isinstance(obj[key], dict):
                sd = obj[key]
                break
    if not isinstance(sd, dict) or not sd:
        raise UserError(f"{what}: no state dict found in the checkpoint (looked for keys {list(keys)})")
    bad = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    if bad:
        kind = getattr(sd[bad[0]], "_qualname", type(sd[bad[0]]).__name__)
        raise UserError(f"{what}: state dict entry {bad[0]!r} is a {kind}, not a tensor; refusing it")
    return {str(k): v for k, v in sd.items()}


def load_state_dict(
    path: str | Path, what: str, keys: tuple[str, ...] = ("state_dict", "model")
) -> dict[str, Any]:
    """The tensor state dict of a ``.safetensors`` file or a torch checkpoint; nothing from it executed.

    A torch file is read by :func:`load_torch_file`; then :func:`extract_state_dict` takes ``obj[key]``
    for the first of ``keys`` present, else the whole dict. Every failure is a one-line UserError.
    """
    if Path(str(path)).suffix == ".safetensors":
        from safetensors.torch import load_file

        p = _existing(path, what)
        try:
            obj = load_file(str(p))
        except Exception as exc:  # noqa: BLE001 - a bad header or truncated data: not a safetensors file
            first = first_line(exc)[:160]
            raise UserError(f"{what}: {p} is not a readable safetensors file ({first})") from None
    else:
        obj, _ = load_torch_file(path, what)
    return extract_state_dict(obj, what, keys)


def check_layout(
    sd: dict[str, Any], want: dict[str, tuple[int, ...]], what: str, ignore: tuple[str, ...] = ()
) -> None:
    """Strict key and shape check of ``sd`` against ``want`` (key -> shape).

    Keys starting with a prefix in ``ignore`` may be present (training-only parts); any other
    unexpected key, a missing key or a shape mismatch raises UserError (one line, first problem).
    """
    missing = [k for k in want if k not in sd]
    if missing:
        raise UserError(
            f"{what}: checkpoint lacks {len(missing)} expected keys, e.g. {missing[0]!r}; wrong file?"
        )
    extra = [k for k in sd if k not in want and not k.startswith(ignore)]
    if extra:
        raise UserError(
            f"{what}: checkpoint has {len(extra)} unexpected keys, e.g. {extra[0]!r}; wrong file?"
        )
    for key, shape in want.items():
        got = tuple(sd[key].shape)
        if got != tuple(shape):
            raise UserError(f"{what}: {key} has shape {got}, expected {tuple(shape)}; wrong model size?")
