"""Every tiny random model the tests and smoke hooks use, built at most once per folder.

``TinyWeights(root)`` builds each model on first use under ``root`` (``save_pretrained`` folders
and checkpoint files, exactly what a user would download) and returns its path; a later call, or
another ``TinyWeights`` on the same ``root``, finds it there (a ``<name>.built`` marker is written
after a build succeeds, so a half-written folder is rebuilt). Tests share one session folder
(the ``tiny_weights`` fixture in ``tests/conftest.py``) and load each model back through the
production path (``textureade.hf.load_pretrained``, the methods' checkpoint loaders). Tests that
alter weights copy them first: the folders are shared.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


class TinyWeights:
    """Lazily built tiny models under ``root``; each method returns the path to load."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def built(self, name: str, build: Callable[[Path], Path]) -> Path:
        """``build(root / name)`` (returning the path to load) unless a finished build is already there."""
        marker = self.root / f"{name}.built"
        if marker.is_file():
            return self.root / marker.read_text()
        path = Path(build(self.root / name))
        marker.write_text(str(path.relative_to(self.root)))
        return path

    def sam3(self) -> Path:
        """A tiny SAM 3 folder (``Sam3Model`` + ``Sam3Processor``; 112 px, 10 queries)."""
        from baselines.testing.tiny_sam3 import save_tiny_sam3

        return self.built("sam3", save_tiny_sam3)

    def clip(self) -> Path:
        """A tiny CLIP folder (model, character-level tokenizer, image processor; 64 px, patch 8)."""
        from baselines.testing.tiny_clip import save_tiny_clip

        return self.built("clip", save_tiny_clip)

    def sam(self) -> Path:
        """A tiny SAM (v1) folder (``SamModel`` + ``SamProcessor``; 64 px)."""
        from baselines.testing.tiny_sam import save_tiny_sam

        return self.built("sam", save_tiny_sam)

    def dinov2(self) -> Path:
        """A tiny DINOv2 folder (``Dinov2Model`` + image processor; patch 8)."""
        from baselines.testing.tiny_sam import save_tiny_dinov2

        return self.built("dinov2", save_tiny_dinov2)

    def vlm(self, family: str, hidden_size: int = 64) -> Path:
        """A tiny VLM folder of ``family`` (see :mod:`textureade.testing.tiny_vlm`)."""
        from textureade.testing.tiny_vlm import save_tiny_vlm

        return self.built(
            f"vlm-{family}-{hidden_size}", lambda out: save_tiny_vlm(family, out, hidden_size=hidden_size)
        )

    def code_checkpoint(self) -> Path:
        """A random CoDe ``checkpoint.pth`` in the official layout (tokenizer: :meth:`clip`)."""
        from baselines.testing.tiny_clip import save_tiny_code

        return self.built("code", save_tiny_code)

    def lseg_checkpoint(self) -> Path:
        """A random LSeg Lightning checkpoint in the official layout (tokenizer: :meth:`clip`)."""
        from baselines.testing.tiny_clip import save_tiny_lseg

        return self.built("lseg", save_tiny_lseg)

    def detecture_checkpoint(self) -> Path:
        """A random checkpoint in the published DETECTURE layout for :meth:`vlm` (qwen3_vl) + :meth:`sam3`."""
        from baselines.testing.tiny_detecture import save_random_checkpoint

        vlm, sam3 = str(self.vlm("qwen3_vl")), str(self.sam3())
        return self.built("detecture", lambda out: save_random_checkpoint(vlm, sam3, out / "tiny.pt"))
