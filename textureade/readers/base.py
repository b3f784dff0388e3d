"""What every ADE20K reader shares: item references, the per-image error and the source protocol."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textureade.errors import UserError
from textureade.types import Scene

SPLITS = ("training", "validation")

#: The forms the readers accept (``Ade20kSource.form`` / ``Scene.source``).
FORM_CHALLENGE = "ADEChallengeData2016"
FORM_FULL = "ADE20K_2021_17_01"
FORM_HF150 = "scene_parse_150"
FORM_HF_FULL = "1aurent/ADE20K"
FORMS = (FORM_CHALLENGE, FORM_FULL, FORM_HF150, FORM_HF_FULL)


class ReadError(Exception):
    """One image cannot be read (corrupt, truncated, annotation missing or mismatched); one line.

    Readers report it through ``on_reject`` and go on with the next image.
    """

    def __init__(self, message: str) -> None:
        line = str(message).strip().splitlines()[0] if str(message).strip() else "unreadable"
        super().__init__(line)


@dataclass(frozen=True, order=True)
class ItemRef:
    """A picklable pointer to one image of a source.

    ``path`` is the image file (folder forms) or the parquet file (mirrors); ``row_group``/``row``
    locate the row inside a parquet file (-1 for folder forms).
    """

    id: str
    split: str | None
    form: str
    path: str
    row_group: int = -1
    row: int = -1


class Ade20kSource:
    """One ADE20K copy in one form. ``items`` lists images; ``load`` reads one as a :class:`Scene`.

    ``mapping``: full-ADE class id -> SceneParse150 id (only the full forms use it; see
    :mod:`textureade.readers.mapping`).
    """

    form: str = ""

    def __init__(self, root: Path, mapping: dict[int, int] | None = None) -> None:
        self.root = Path(root)
        self.mapping = mapping

    def splits(self) -> list[str]:
        """The split names present, in SPLITS order (others, e.g. unknown, last)."""
        raise NotImplementedError

    def _items(self, split: str | None) -> list[ItemRef]:
        raise NotImplementedError

    def items(self, split: str | None = None) -> list[ItemRef]:
        """Item references for ``split`` (None = every split present), sorted by id."""
        if split is not None:
            if split not in SPLITS:
                raise UserError(f"unknown split {split!r}: use one of {', '.join(SPLITS)} (or none for all)")
            present = self.splits()
            if split not in present:
                have = ", ".join(s for s in present if s) or "none"
                raise UserError(f"no {split} split in {self.root} (splits present: {have})")
        return sorted(self._items(split))

    def load(self, ref: ItemRef) -> Scene:
        """Read one image with its annotation. Raises :class:`ReadError` for a per-image problem."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(form={self.form!r}, root={str(self.root)!r})"
