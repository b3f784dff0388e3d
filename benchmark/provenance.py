"""Provenance for run.json: git hash, package versions, host, weights ids and revisions.

Nothing here imports torch or transformers: versions come from installed package metadata.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from textureade.fingerprint import weights_fingerprint

PACKAGES = (
    "textureade",
    "numpy",
    "scipy",
    "scikit-image",
    "scikit-learn",
    "opencv-python-headless",
    "pyarrow",
    "pandas",
    "torch",
    "torchvision",
    "transformers",
    "timm",
)

REPO = Path(__file__).resolve().parents[1]


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def git_info(repo: Path = REPO) -> dict[str, Any]:
    """{"hash": full commit or None, "dirty": bool or None} of the code that ran."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"hash": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"hash": commit, "dirty": bool(status) if status is not None else None}


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def host_info() -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
    }


def weights_info(spec: Any, params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per named weight: the id or path the method is given and the revision it loads.

    ``params``: the resolved params (:func:`benchmark.registry.resolve_params`, options included);
    what they select is read by :func:`benchmark.weights.resolve`, the same reading the weights
    check uses. A weight overridden by ``--option`` has ``overridden: True``; a hub id records its
    revision and the ``commit`` it resolves to in the local cache (None when absent); a local path
    has no revision (``None``) and a ``local`` content fingerprint
    (:func:`textureade.fingerprint.weights_fingerprint`: path, files, bytes, sha256).
    """
    from benchmark.weights import resolve, weights_entries

    out: dict[str, dict[str, Any]] = {}
    for entry in weights_entries(getattr(spec, "weights", None), getattr(spec, "path", "")):
        r = resolve(entry, params)
        out[entry.name] = {"id": r.value, "revision": r.revision, "overridden": not r.default}
        if r.local:
            out[entry.name]["local"] = asdict(weights_fingerprint(str(r.value)))
        elif r.value is not None:
            out[entry.name]["commit"] = cached_commit(r.value, r.revision)
    return out


def cached_commit(repo_id: str, revision: str | None) -> str | None:
    """The commit sha a hub id + revision (e.g. "main") resolves to in the local HF cache, else None."""
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(repo_id, "config.json", revision=revision or None)
    except Exception:  # noqa: BLE001 - not a valid hub id, no cache: nothing to record
        return None
    if not isinstance(hit, str):
        return None
    parts = Path(hit).parts
    return parts[parts.index("snapshots") + 1] if "snapshots" in parts else None


def spec_dict(spec: Any) -> dict[str, Any]:
    """A MethodSpec as a JSON-able dict (its manifest, as resolved)."""
    return asdict(spec)


def environment() -> dict[str, Any]:
    return {"git": git_info(), "packages": package_versions(), "host": host_info()}
