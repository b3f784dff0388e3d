"""Build configuration: one schema (dataclasses), CLI > YAML > defaults, implemented once.

``resolve_config(cls, cli, yaml_path, what)`` merges the three layers for any config dataclass
(this build's :class:`BuildConfig` through ``resolve_build_config``, `bench run`'s RunConfig):
dataclass defaults, then the YAML file's keys, then every CLI value that is not None. The mining thresholds come from the
``mining/default.yaml`` manifest (found by :mod:`textureade.manifests`) and may be overridden under
``mining:`` in the build YAML.
The resolved config (``BuildConfig.to_dict()``) is written beside the outputs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from textureade.describe import DESCRIBERS, canonical_describer
from textureade.errors import UserError
from textureade.manifests import find_manifest, manifest_file
from textureade.yamlfile import check_yaml_types, read_yaml_mapping

# Keys that change how fast a build runs but never what it produces (left out of the fingerprint).
RUNTIME_ONLY = (
    "workers", "out", "progress", "executor", "ray_address", "num_gpus", "actors", "describe_chunks",
)  # fmt: skip
# describer_options of that kind: where decisions are cached (a cache hit reproduces the decision)
RUNTIME_ONLY_DESCRIBER = ("cache_dir",)
# Deprecated build-config keys -> their current name (still read, with a FutureWarning).
RENAMED_KEYS = {"captioner": "describer"}


#: Mining recipes ``textureade build --mining NAME`` selects (``recipe:`` of a mining manifest).
RECIPES = ("default", "detecture")


@dataclass
class DetectureRecipeConfig:
    """The Detecture Miner's ADE20K recipe (manifests/mining/detecture.yaml; the meanings and
    sources of every value are there, the procedure in ``textureade.mining.detecture_recipe``).

    Keyword lists are matched as substrings of the lower-cased class name. selected_min: keep
    images whose texture-priority score is >= this. small_threshold: a class under this share of
    the image is "tiny". min_large_region_frac / strong_boundary_min_pixels: a large texture
    component / a strong boundary. Regions: classes >= min_region_frac, the max_regions largest,
    the image skipped below min_regions."""

    texture_keywords: list[str] = field(default_factory=list)
    object_keywords: list[str] = field(default_factory=list)
    ambiguous_keywords: list[str] = field(default_factory=list)
    selected_min: float = 65.0
    small_threshold: float = 0.001
    min_large_region_frac: float = 0.08
    strong_boundary_min_pixels: int = 40
    min_region_frac: float = 0.01
    max_regions: int = 5
    min_regions: int = 2


@dataclass
class MiningConfig:
    """Thresholds of selection and region mining (see manifests/mining/default.yaml for meanings).

    recipe: ``default`` (this project's miner: every other field) or ``detecture`` (the Detecture
    Miner's recipe, its values in ``detecture``; manifests/mining/detecture.yaml)."""

    texture_surface: list[str] = field(default_factory=list)
    object: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    min_score: float = 50.0
    large_component_frac: float = 0.08
    strong_boundary_px: int = 40
    min_segment_frac: float = 0.01
    weights: dict[str, float] = field(default_factory=dict)
    penalties: dict[str, float] = field(default_factory=dict)
    boundary_density_range: tuple[float, float] = (2.0, 14.0)
    segment_count_range: tuple[int, int] = (2, 8)
    work_max_side: int = 112
    merge_separability: float = 20.0
    split_separability: float = 20.0
    split_min_frac: float = 0.03
    split_coherence: float = 0.7
    split_valley: float = 0.3
    min_region_frac: float = 0.01
    min_regions: int = 2
    max_regions: int = 6
    min_coverage: float = 0.4
    use_instances: bool = True
    use_parts: bool = True
    recipe: str = "default"
    detecture: DetectureRecipeConfig | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able; the default recipe leaves out ``recipe``/``detecture`` (so its resolved
        config, and the build fingerprint, read as before recipes existed)."""
        d = dataclasses.asdict(self)
        d["boundary_density_range"] = list(self.boundary_density_range)
        d["segment_count_range"] = list(self.segment_count_range)
        if self.recipe == "default":
            d.pop("recipe")
            d.pop("detecture")
        return d


def mining_manifest_path(name_or_path: str | Path | None) -> Path:
    """The mining YAML: default.yaml when None; a recipe name (``default``, ``detecture``: a
    mining manifest of that name) unless a file of that name exists here; else the path."""
    if not name_or_path:
        return manifest_file("mining", "default.yaml")
    text = str(name_or_path)
    if not Path(text).exists() and "/" not in text and not text.endswith((".yaml", ".yml")):
        found = find_manifest("mining", f"{text}.yaml")
        if found is None:
            raise UserError(
                f"no mining manifest {text!r}; recipes: {', '.join(RECIPES)} (or give a YAML path)"
            )
        return found
    return Path(text)


def check_mining_section(data: dict[str, Any], where: str, prefix: str = "") -> None:
    """UserError (one line, naming ``where`` and the key, ``prefix`` before it) for an unknown key or
    a value of the wrong type in a mapping of mining thresholds: a mining YAML, or ``mining:`` in a
    build config (its ``yaml_section`` check). Key-wise only: cross-key rules are
    :func:`load_mining_config`'s."""
    known = {f.name for f in dataclasses.fields(MiningConfig)} | {"classes"}
    unknown = sorted(set(data) - known)
    if unknown:
        keys = ", ".join(prefix + k for k in unknown)
        raise UserError(f"{where}: unknown key(s) {keys}; see {find_manifest('mining', 'default.yaml')}")
    check_yaml_types(data, MiningConfig, where, prefix)
    if data.get("classes") is not None and not isinstance(data["classes"], str | Path):
        raise UserError(f"{where}: '{prefix}classes' must name a YAML file of keyword lists")
    if data.get("recipe", "default") not in RECIPES:
        raise UserError(
            f"{where}: {prefix}recipe must be one of {', '.join(RECIPES)}, got {data['recipe']!r}"
        )
    block = data.get("detecture")
    if isinstance(block, dict):
        unknown = sorted(set(block) - {f.name for f in dataclasses.fields(DetectureRecipeConfig)})
        if unknown:
            raise UserError(f"{where}: unknown {prefix}detecture key(s) {', '.join(unknown)}")
        check_yaml_types(block, DetectureRecipeConfig, where, f"{prefix}detecture.")


def load_mining_config(
    path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> MiningConfig:
    """Read a mining YAML (default: manifests/mining/default.yaml; a recipe name such as
    ``detecture`` names manifests/mining/detecture.yaml) plus its keyword file, then overrides.

    Raises UserError for a missing file, an unknown key or a value of the wrong type (in the file
    or in ``overrides``: :func:`check_mining_section`) or a keyword file without the four lists.
    """
    path = mining_manifest_path(path)
    data = read_yaml_mapping(path, "mining config")
    check_mining_section(data, f"mining config {path}")
    overrides = {} if overrides is None else overrides
    if not isinstance(overrides, dict):
        raise UserError(f"mining overrides must be a mapping, got {overrides!r}")
    check_mining_section(overrides, "mining overrides")
    data.update(overrides)
    classes = data.pop("classes", None)
    if classes is not None:
        cpath = Path(classes)
        if not cpath.is_absolute():  # beside the mining YAML, else a mining manifest of that name
            beside = path.parent / cpath
            cpath = beside if beside.is_file() else (find_manifest("mining", str(cpath)) or beside)
        lists = read_yaml_mapping(cpath, "class keyword file")
        for key in ("texture_surface", "object", "ambiguous", "ignore"):
            if key not in lists:
                raise UserError(f"class keyword file {cpath} lacks the list '{key}'; add it (may be empty)")
            data.setdefault(key, [str(k).lower().strip() for k in lists[key] or []])
    recipe = data.get("recipe", "default")
    block = data.get("detecture")
    if recipe == "detecture":
        if not isinstance(block, dict):
            raise UserError(f"mining config {path}: recipe detecture needs a 'detecture:' mapping")
        data["detecture"] = DetectureRecipeConfig(**block)
    elif block is not None:
        raise UserError(f"mining config {path}: a 'detecture:' block needs recipe: detecture")
    cfg = MiningConfig(**data)
    cfg.boundary_density_range = tuple(float(v) for v in cfg.boundary_density_range)  # type: ignore[assignment]
    cfg.segment_count_range = tuple(int(v) for v in cfg.segment_count_range)  # type: ignore[assignment]
    if not 1 <= cfg.min_regions <= cfg.max_regions:
        raise UserError(
            f"mining config: need 1 <= min_regions <= max_regions, got {cfg.min_regions}, {cfg.max_regions}"
        )
    return cfg


@dataclass
class BuildConfig:
    """Everything that decides a TextureADE build.

    ade20k: input folder (an ADE20K release). out: output folder. describer: "offline" (no weights,
    the default) or "vlm" (with ``vlm`` = model id or local path); the old key ``captioner`` and the
    old value "heuristic" (= "offline") are still read, with a warning. limit: first N input items (in
    reader order) or None for all. workers: processes (results do not depend on it). mapping: a
    mapFromADE.txt (full form -> 150 classes). val_fraction: share of ADE training base images that
    go to the ``validation`` split (by a hash of the base id); ADE validation becomes ``test``.
    chunk_size: input items per journal step and per shard (a fixed count in input order, so that a
    resumed build cuts identical shards). mining: overrides of the mining thresholds.
    mining_config: path of a mining YAML, or a recipe name (``default``, ``detecture``: the mining
    manifest of that name; ``textureade build --mining``); default manifests/mining/default.yaml.
    executor: "local" (this process, or ``workers`` processes) or "ray" (chunks as Ray tasks, the
    VLM in Ray actors; :mod:`textureade.pipeline_ray`); ray_address: a running cluster to join
    (None: start a local instance). num_gpus: GPUs per VLM describer actor (None: 1 when the cluster
    has GPUs, else 0); actors: how many (None: one per num_gpus GPUs, else half the CPUs);
    describe_chunks: chunks one actor call describes together (1: the local executor's batches,
    byte-identical output; more: fuller generate batches across chunks). None of these changes
    what a build produces (they are left out of the fingerprint and of manifest.json's config).
    """

    ade20k: str | None = None
    out: str | None = None
    describer: str = "offline"
    vlm: str | None = None
    describer_options: dict[str, Any] = field(default_factory=dict)
    limit: int | None = None
    workers: int = 1
    mapping: str | None = None
    seed: int = 0
    val_fraction: float = 0.05
    chunk_size: int = 64
    progress: bool = True
    mining_config: str | None = None
    # a YAML mining: section is checked key by key as it is read (the build config file named)
    mining: dict[str, Any] = field(default_factory=dict, metadata={"yaml_section": check_mining_section})
    executor: str = "local"
    ray_address: str | None = None
    num_gpus: float | None = None
    actors: int | None = None
    describe_chunks: int = 1

    def validate(self) -> BuildConfig:
        if not self.ade20k:
            raise UserError("no ADE20K input given; pass --ade20k PATH (an ADE20K release folder)")
        if not self.out:
            raise UserError("no output folder given; pass --out DIR")
        self.describer = canonical_describer(self.describer)
        if self.describer not in DESCRIBERS:
            raise UserError(f"unknown describer {self.describer!r}; use {' or '.join(DESCRIBERS)}")
        if self.describer == "vlm" and not self.vlm:
            raise UserError("--describer vlm needs --vlm MODEL_ID_OR_PATH")
        if self.limit is not None and self.limit < 1:
            raise UserError(f"--limit must be >= 1, got {self.limit}")
        if self.workers < 1:
            raise UserError(f"--workers must be >= 1, got {self.workers}")
        if self.chunk_size < 1:
            raise UserError(f"chunk_size must be >= 1, got {self.chunk_size}")
        from textureade.executors import check_executor

        check_executor(self.executor, self.ray_address, self.actors, self.num_gpus)
        if self.executor == "ray" and self.workers != 1:
            raise UserError(
                "--workers is for the local executor; with --executor ray the cluster's CPUs set it"
            )
        if self.describe_chunks < 1:
            raise UserError(f"describe_chunks must be >= 1, got {self.describe_chunks}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise UserError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.mining_config == "default" and not Path("default").exists():
            self.mining_config = None  # --mining default: the same build (and fingerprint) as no flag
        self.mining_resolved()  # raises UserError on bad thresholds
        return self

    def mining_resolved(self) -> MiningConfig:
        return load_mining_config(self.mining_config, self.mining)

    def to_dict(self) -> dict[str, Any]:
        """The resolved config, with the mining thresholds spelled out (JSON-able)."""
        d = dataclasses.asdict(self)
        d["mining"] = self.mining_resolved().to_dict()
        return d

    def output_dict(self) -> dict[str, Any]:
        """The resolved config minus the keys that cannot change the output (workers, out, progress,
        describer_options.cache_dir)."""
        d = {k: v for k, v in self.to_dict().items() if k not in RUNTIME_ONLY}
        opts = d["describer_options"]
        d["describer_options"] = {k: v for k, v in opts.items() if k not in RUNTIME_ONLY_DESCRIBER}
        return d

    def fingerprint(self) -> str:
        """sha256 of everything that decides the output (``output_dict`` as sorted JSON)."""
        blob = json.dumps(self.output_dict(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()


def _renamed_keys(data: dict[str, Any], renamed: dict[str, str], where: str) -> dict[str, Any]:
    """``data`` with each deprecated key (``renamed``: old -> new) moved to its new name, warning once
    per key (the warning points at the caller of the public resolver: 4 frames up)."""
    data = dict(data)
    for old, new in renamed.items():
        if old not in data:
            continue
        value = data.pop(old)
        if value is None:
            continue
        warnings.warn(f"{where}: {old!r} is deprecated; use {new!r}", FutureWarning, stacklevel=4)
        if data.get(new) is not None and data[new] != value:
            raise UserError(f"{where}: give {new!r} only (the deprecated {old!r} says {value!r})")
        data[new] = value
    return data


Config = TypeVar("Config")


def resolve_config(
    cls: type[Config],
    cli: dict[str, Any] | None,
    yaml_path: str | Path | None,
    what: str,
    *,
    renamed: dict[str, str] | None = None,
    merged_dicts: tuple[str, ...] = (),
) -> Config:
    """CLI > YAML > defaults, for the config dataclass ``cls`` (which has a ``validate()`` returning
    itself): its defaults, then the keys of the YAML mapping at ``yaml_path`` (unknown keys and
    values of the wrong plain type are a one-line UserError), then every ``cli`` value that is not
    None (None means not given). ``what`` names the config in messages ("build": "build config
    PATH: ...", "unknown build option 'x'"). ``renamed``: deprecated key -> its name, read from
    both layers with a FutureWarning. ``merged_dicts``: mapping-valued keys whose CLI mapping
    overrides the YAML's one key at a time (else a CLI value replaces the YAML's whole)."""
    renamed = renamed or {}
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    merged: dict[str, Any] = {}
    if yaml_path:
        where = f"{what} config {yaml_path}"
        data = _renamed_keys(read_yaml_mapping(Path(yaml_path), f"{what} config"), renamed, where)
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {sorted(known)}")
        check_yaml_types(data, cls, where)
        merged.update(data)
    for key, value in _renamed_keys(cli or {}, renamed, f"{what} options").items():
        if key not in known:
            raise UserError(f"unknown {what} option {key!r}")
        if value is None:
            continue
        if key in merged_dicts:
            merged[key] = {**(merged.get(key) or {}), **value}
        else:
            merged[key] = value
    return cls(**merged).validate()  # type: ignore[attr-defined]


def resolve_build_config(
    cli: dict[str, Any] | None = None, yaml_path: str | Path | None = None
) -> BuildConfig:
    """Defaults < YAML < CLI (CLI values of None mean unset; :func:`resolve_config`). Unknown YAML
    keys raise UserError. Deprecated keys (``captioner``) are read as their new name
    (``describer``) with a FutureWarning."""
    return resolve_config(BuildConfig, cli, yaml_path, "build", renamed=RENAMED_KEYS)
