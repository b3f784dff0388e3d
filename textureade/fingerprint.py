"""One fingerprint of a local weights file or folder, by content: used by run provenance and the VLM cache.

:func:`weights_fingerprint` hashes, for every file (sorted by relative name; names starting with
"." skipped, e.g. a download tool's ``.cache`` folder of timestamps), its relative name, its size
and its full content (sha256, read in 1 MiB blocks). New weights of the same shapes, saved over
the same folder, therefore give another fingerprint (a hash of names and sizes would not).
Reading every byte costs about a second per GB of weights, once per run or describer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from textureade.fileio import sha256_file


@dataclass(frozen=True)
class WeightsFingerprint:
    """path: the absolute path; files/bytes: how many files and bytes; sha256: hex digest of them all."""

    path: str
    files: int
    bytes: int
    sha256: str

    @property
    def short(self) -> str:
        """``<path>#<first 12 hex>``: a cache key that changes when the weights do."""
        return f"{self.path}#{self.sha256[:12]}"


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    out = []
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts):
            out.append(p)
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


def weights_fingerprint(path: str | Path) -> WeightsFingerprint:
    """The content fingerprint of a weights file or folder (see the module docstring)."""
    root = Path(path).expanduser().resolve()
    if not root.exists():
        raise FileNotFoundError(f"no weights at {root}")
    h, total = hashlib.sha256(), 0
    files = _files(root)
    for f in files:
        st = f.stat()
        total += st.st_size
        name = f.name if f == root else f.relative_to(root).as_posix()
        h.update(f"{name}\0{st.st_size}\0{sha256_file(f)}\n".encode())
    return WeightsFingerprint(path=str(root), files=len(files), bytes=total, sha256=h.hexdigest())
