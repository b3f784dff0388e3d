"""Which ADE20K form a path holds: the folder itself, one level below it, or parquet files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from textureade.errors import UserError, first_line
from textureade.readers.base import FORM_CHALLENGE, FORM_FULL, FORMS, Ade20kSource
from textureade.readers.challenge import ChallengeSource, is_challenge_root
from textureade.readers.full import FullSource, is_full_root
from textureade.readers.mapping import resolve_mapping

EXPECTED = (
    "expected an ADEChallengeData2016 folder (images/ + annotations/), an ADE20K_2021_17_01 folder "
    "(images/ADE/...), or the parquet files of the scene_parse_150 or 1aurent/ADE20K mirrors"
)


def _folder_forms(p: Path) -> list[tuple[str, Path]]:
    found = []
    for cand in [p] + sorted(c for c in p.iterdir() if c.is_dir() and not c.name.startswith(".")):
        if is_full_root(cand):
            found.append((FORM_FULL, cand))
        elif is_challenge_root(cand):
            found.append((FORM_CHALLENGE, cand))
        if found and cand == p:
            break  # the path itself is a form: its children are its own sub-folders
    return found


def _parquet_files(p: Path) -> list[Path]:
    if p.is_file():
        return [p] if p.suffix == ".parquet" else []
    files = []
    for dirpath, dirnames, filenames in os.walk(p, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files += [Path(dirpath) / f for f in filenames if f.endswith(".parquet")]
    return sorted(files)


def _parquet_source(p: Path, files: list[Path], mapping: dict[int, int] | None) -> Ade20kSource | None:
    import pyarrow.parquet as pq

    from textureade.readers.hf_parquet import FullAdeParquet, SceneParse150Parquet, parquet_form

    forms: dict[str, list[Path]] = {}
    instance_config = False
    first_bad: tuple[Path, str] | None = None  # the first file that is not readable parquet
    for f in files:
        try:
            schema = pq.read_schema(f)
        except Exception as exc:  # not parquet after all, or damaged footer
            first_bad = first_bad or (f, first_line(exc))
            continue
        form = parquet_form(schema)
        if form:
            forms.setdefault(form, []).append(f)
        instance_config |= set(schema.names) == {"image", "annotation"}
    if first_bad and (forms or p.is_file()):  # the mirror itself (or the file named) is damaged
        f, why = first_bad
        raise UserError(f"cannot read the parquet file {f}: {why}; re-download it (or remove it)")
    if not forms:  # unrelated files that are not parquet at all do not make a folder an ADE20K copy
        if instance_config:
            raise UserError(
                f"{p} looks like scene_parse_150's instance_segmentation config (image + annotation, no "
                "scene_category); the readers take its scene_parsing config"
            )
        return None
    if len(forms) > 1:
        raise UserError(f"{p} mixes parquet files of {' and '.join(sorted(forms))}; point at one of them")
    form, chosen = next(iter(forms.items()))
    root = p if p.is_dir() else p.parent
    cls = FullAdeParquet if form == FullAdeParquet.form else SceneParse150Parquet
    return cls(root, chosen, mapping)


def open_ade20k(
    path: str | os.PathLike, mapping: str | os.PathLike | Mapping[int, int] | None = None
) -> Ade20kSource:
    """Detect the ADE20K form at ``path`` and return its source. UserError (one line) when none fits.

    ``path`` may be the form's folder or its parent (e.g. the folder holding ADEChallengeData2016/),
    a parquet file or a folder of parquet files. ``mapping`` (mapFromADE.txt path or
    {full_id: challenge_id}) converts the full forms to SceneParse150 ids; giving it for a form that
    is already SceneParse150 is a UserError.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(f"{p} does not exist; {EXPECTED}")
    table = resolve_mapping(mapping)
    source: Ade20kSource | None = None
    if p.is_dir():
        forms = _folder_forms(p)
        if len(forms) > 1:
            names = ", ".join(f"{form} at {where}" for form, where in forms)
            raise UserError(f"{p} holds several ADE20K copies ({names}); point at one of them")
        if forms:
            form, root = forms[0]
            source = FullSource(root, table) if form == FORM_FULL else ChallengeSource(root, table)
    if source is None:
        files = _parquet_files(p)
        if files:
            source = _parquet_source(p, files, table)
    if source is None:
        raise UserError(f"{p} is no ADE20K copy: {EXPECTED}")
    if table is not None and source.form not in (FORMS[1], FORMS[3]):
        raise UserError(
            f"{p} is {source.form}, already in SceneParse150 ids: drop the mapping (it is for the full forms)"
        )
    return source
