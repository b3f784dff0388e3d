"""What every ADE20K reader shares: item references, the per-image error and the source protocol."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from textureade.errors import UserError, first_line, safe_text
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

    Readers report it through ``on_reject`` and go on with the next image. The message is one
    line of valid UTF-8 (file names that are not are written with ``\\xNN`` escapes).
    """

    def __init__(self, message: str) -> None:
        super().__init__(first_line(message, "unreadable"))


@dataclass(frozen=True, order=True)
class ItemRef:
    """A picklable pointer to one image of a source.

    ``path`` is the image file (folder forms) or the parquet file (mirrors); ``row_group``/``row``
    locate the row inside a parquet file (-1 for folder forms). ``id`` is always valid UTF-8
    (:func:`safe_text` of the file stem); ``path`` is the name as the file system gives it.
    ``problem``: why this item cannot become a sample, found while listing (a file name that is not
    UTF-8, a duplicate id); ``load`` raises it as a ReadError.
    """

    id: str
    split: str | None
    form: str
    path: str
    row_group: int = -1
    row: int = -1
    problem: str = ""


def _below(path: Path, root: Path | None) -> str:
    """``path`` relative to ``root`` when it lies below it, else its name."""
    try:
        return path.relative_to(root).as_posix() if root is not None else path.name
    except ValueError:
        return path.name


def mark_problems(refs: list[ItemRef], root: Path | None = None) -> list[ItemRef]:
    """Give names that are not UTF-8 a safe id, and every item but the first of an id a problem.

    refs: sorted by id. root: the source folder (duplicates are named by their path below it).
    Returns the same items in the same order (ids made safe).
    """
    out: list[ItemRef] = []
    for ref in refs:
        safe = safe_text(ref.id)
        if safe != ref.id:
            name = safe_text(Path(ref.path).name)
            ref = replace(
                ref, id=safe, problem=ref.problem or f"file name {name} is not valid UTF-8; rename it"
            )
        out.append(ref)
    counts = Counter(r.id for r in out)
    first: dict[str, str] = {}
    for i, ref in enumerate(out):
        if counts[ref.id] < 2:
            continue
        where = safe_text(_below(Path(ref.path), root))
        where = where if ref.row < 0 else f"{where} row group {ref.row_group} row {ref.row}"
        if ref.id not in first:
            first[ref.id] = where
        elif not ref.problem:
            out[i] = replace(ref, problem=f"duplicate id {ref.id} ({where}; {first[ref.id]} has it too)")
    return out


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
        return mark_problems(sorted(self._items(split)), self.root)

    def load(self, ref: ItemRef) -> Scene:
        """Read one image with its annotation. Raises :class:`ReadError` for a per-image problem.

        Every failure of one item is a ReadError: the problem found while listing, the form's own
        checks, and anything else its files make the decoders raise (named by exception type).
        """
        if ref.problem:
            raise ReadError(ref.problem)
        try:
            return self._load(ref)
        except ReadError:
            raise
        except (MemoryError, RecursionError):
            raise
        except Exception as exc:  # an odd file a decoder chokes on: this item only
            raise ReadError(first_line(exc, with_type=True)) from None

    def _load(self, ref: ItemRef) -> Scene:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(form={self.form!r}, root={str(self.root)!r})"
