"""Prompt templates, their hash, and parsing of VLM answers into candidate descriptions.

Templates are Python ``str.format`` strings (defaults below, overridable from a describer manifest's
``prompts:`` mapping or a ``prompt_manifest`` YAML). Placeholders:
- ``overlay``: {n} regions, {legend} ("1 = Red, 2 = Green"), {keys} (JSON keys asked for),
  {example} (a JSON skeleton), {hints} (a sentence or "").
- ``crop``: {hints}.
- ``retry_suffix``: {reason} (why the last answer was rejected); appended to the prompt on a retry.
- ``florence_task``: the Florence-2 task token; ``compose``: {answer}, {position} turns a Florence
  answer (a short phrase) into a description.

No torch here: pure string functions.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from textureade.describe.validate import PREFIX, description_problem, normalise
from textureade.errors import UserError

FORM = "'Texture of <material or surface>, <visual features>, <where it is in the image>'"

DEFAULT_OVERLAY = (
    "The first image is a photo. The second image is the same photo with {n} numbered, coloured "
    "regions: {legend}. For each region, describe the texture (material and surface appearance) that "
    "fills it in 10-15 words, in the form " + FORM + ". {hints}Reply with one JSON object and nothing "
    "else, with the keys {keys}: {example}"
)
DEFAULT_CROP = (
    "The image shows one region of a photo (outside the region is grey). Describe the texture "
    "(material and surface appearance) of the region in 10-15 words, in the form " + FORM + ". "
    "{hints}Reply with the description only, on one line."
)
DEFAULT_RETRY = (
    " Your previous answer could not be used ({reason}). Follow the requested form exactly: each "
    "description starts with 'Texture of ', has 5-25 words and differs from the others."
)


@dataclass(frozen=True)
class PromptSet:
    """The templates one describer uses (see the module docstring for placeholders)."""

    overlay: str = DEFAULT_OVERLAY
    crop: str = DEFAULT_CROP
    retry_suffix: str = DEFAULT_RETRY
    florence_task: str = "<REGION_TO_DESCRIPTION>"
    compose: str = "Texture of {answer}, {position}"

    @classmethod
    def from_mapping(cls, data: dict[str, Any] | None, where: str = "prompts") -> PromptSet:
        """Defaults overridden by ``data`` (unknown keys -> UserError, one line)."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserError(f"{where}: unknown prompt keys {unknown}; use some of {sorted(known)}")
        bad = [k for k, v in data.items() if not isinstance(v, str) or not v.strip()]
        if bad:
            raise UserError(f"{where}: prompt templates {bad} must be non-empty strings")
        return cls(**data)

    @classmethod
    def from_yaml(cls, path: str | Path) -> PromptSet:
        """Read a YAML file holding either the templates or a ``prompts:`` mapping of them."""
        from textureade.yamlfile import read_yaml_mapping

        data = read_yaml_mapping(path, "prompt manifest")
        return cls.from_mapping(data.get("prompts", data), where=str(path))


def prompt_hash(prompts: PromptSet, presentation: str, hints: bool) -> str:
    """16-hex-digit hash of everything that shapes the question (templates, presentation, hints)."""
    blob = json.dumps({"prompts": asdict(prompts), "presentation": presentation, "hints": bool(hints)},
                      sort_keys=True)  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def hint_sentence(names_by_number: dict[int, list[str]], single: bool = False) -> str:
    """ADE class names as a hint: "ADE20K labels (hints; describe what you see): 1 = wall; 2 = floor. "."""
    parts = {n: ", ".join(v[:3]) for n, v in names_by_number.items() if v}
    if not parts:
        return ""
    if single:
        return f"Its ADE20K label is '{next(iter(parts.values()))}' (a hint; describe what you see). "
    body = "; ".join(f"{n} = {v}" for n, v in parts.items())
    return f"ADE20K labels (hints; describe what you see): {body}. "


def overlay_prompt(prompts: PromptSet, legend: list[str], ask: list[int], hints: str) -> str:
    """The overlay question for regions numbered 1..len(legend), asking the JSON keys of ``ask``."""
    keys = [f"region_{n}" for n in ask]
    example = json.dumps({k: "Texture of ..." for k in keys})
    return prompts.overlay.format(
        n=len(legend),
        legend=", ".join(f"{i + 1} = {c}" for i, c in enumerate(legend)),
        keys=", ".join(keys),
        example=example,
        hints=hints,
    )


# --- parsing ----------------------------------------------------------------------------------

_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_LOC = re.compile(r"<loc_\d+>")


def clean_answer(text: str) -> str:
    """Strip code fences, surrounding quotes, list/key prefixes and whitespace from one answer."""
    t = _FENCE.sub("", str(text).strip()).strip()
    t = re.sub(r"^(?:[-*]\s+|\d+[.)]\s+|region[_ ]?\d+\s*[:=]\s*)", "", t, flags=re.I).strip()
    t = t.strip().strip("\"'`").strip()
    if t.lower().startswith(PREFIX.lower()):
        t = PREFIX + t[len(PREFIX) :]
    return normalise(t)


def parse_overlay(text: str, numbers: list[int]) -> tuple[dict[int, str], str | None]:
    """Parse a JSON answer {"region_1": "..."} into {number: description text}.

    numbers: the region numbers (1-based positions in the overlay) asked for. Accepts keys
    "region_N", "region N", "N" and "texture_N". Returns (answers, problem): problem is None when a
    JSON object was found, else why not (answers then empty).
    """
    t = _FENCE.sub("", str(text).strip()).strip()
    start, end = t.find("{"), t.rfind("}")
    if start < 0 or end <= start:
        return {}, "no JSON object in the answer"
    try:
        obj = json.loads(t[start : end + 1])
    except json.JSONDecodeError as exc:
        return {}, f"JSON does not parse ({exc.msg})"
    if not isinstance(obj, dict):
        return {}, "JSON is not an object"
    out: dict[int, str] = {}
    for key, value in obj.items():
        m = re.fullmatch(r"(?:region|texture)?[_ ]?(\d+)", str(key).strip(), flags=re.I)
        if m and int(m.group(1)) in numbers and isinstance(value, str):
            out[int(m.group(1))] = clean_answer(value)
    return out, None


def parse_single(text: str) -> str:
    """One description from a per-region answer: the first non-empty line, cleaned; JSON unwrapped."""
    t = _FENCE.sub("", str(text).strip()).strip()
    if t.startswith("{"):
        try:
            obj = json.loads(t)
            values = [v for v in obj.values() if isinstance(v, str)] if isinstance(obj, dict) else []
            if len(values) == 1:
                t = values[0]
        except json.JSONDecodeError:
            pass
    lines = [ln for ln in t.splitlines() if ln.strip()]
    return clean_answer(lines[0]) if lines else ""


def florence_answer(text: str) -> str:
    """A Florence-2 region answer without task/location/special tokens, whitespace collapsed."""
    t = _LOC.sub(" ", str(text))
    t = re.sub(r"</?s>|<pad>|<unk>", " ", t)
    return normalise(t).strip(" .,")


def _real_word(word: str) -> bool:
    """A word of >= 3 letters (hyphens and apostrophes allowed, surrounding punctuation ignored)."""
    core = word.strip(".,;:!?()[]\"'")
    return len(core) >= 3 and core.replace("-", "").replace("'", "").isalpha()


def junk_problem(text: str) -> str | None:
    """Why ``text`` looks like junk rather than language (None when it looks fine).

    Rejects undecodable or control characters, words over 30 characters, fewer than 70% letters
    among the non-space characters, a word repeated 4+ times in a row, and text that after a
    leading "Texture of " has fewer than 2 real words (>= 3 letters).
    """
    if "\ufffd" in text or any(unicodedata.category(c) in ("Cc", "Co", "Cs", "Cn") for c in text):
        return "contains undecodable or control characters"
    words = text.split()
    if any(len(w) > 30 for w in words):
        return "contains a word over 30 characters"
    chars = [c for c in text if not c.isspace()]
    if chars and sum(c.isalpha() for c in chars) / len(chars) < 0.7:
        return "mostly non-letter characters"
    low = [w.lower().strip(",.;") for w in words]
    if any(low[i] == low[i + 1] == low[i + 2] == low[i + 3] for i in range(len(low) - 3)):
        return "a word repeated 4 times in a row"
    rest = text[len(PREFIX) :] if text.startswith(PREFIX) else text
    if sum(_real_word(w) for w in rest.split()) < 2:
        return "names nothing (fewer than 2 words of 3+ letters)"
    return None


def phrase_problem(answer: str) -> str | None:
    """Why a short answer naming a region (Florence-2's) is unusable, or None.

    Needs 1-12 words, at least one real word (>= 3 letters) and at least half of the words real or
    short alphabetic words ("a", "of"); then the junk checks on characters apply.
    """
    words = answer.split()
    if not words:
        return "empty answer"
    if len(words) > 12:
        return f"answer has {len(words)} words (a region name needs at most 12)"
    if "\ufffd" in answer or any(unicodedata.category(c) in ("Cc", "Co", "Cs", "Cn") for c in answer):
        return "contains undecodable or control characters"
    alpha = [w for w in words if _real_word(w) or w.strip(".,;:").isalpha()]
    if not any(_real_word(w) for w in words) or len(alpha) < len(words) / 2:
        return "answer names nothing (no word of 3+ letters)"
    return None


_WORDS = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
ECHO_WORDS = 5


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = _WORDS.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def echo_problem(text: str, prompts: PromptSet | None = None) -> str | None:
    """Why ``text`` repeats the question or merges answers instead of describing one region (or None).

    After the "Texture of " prefix: another "Texture of" (several answers run together), a region or
    JSON key ("region_2", "region 3": numbers mean nothing in the dataset), or ``ECHO_WORDS``
    consecutive words that also stand together in a prompt template of ``prompts`` (default templates
    when None; placeholders never bridge words), e.g. "material or surface, visual features, where it
    is in the image" echoed from the requested form.
    """
    rest = text[len(PREFIX) :] if text.startswith(PREFIX) else text
    if re.search(r"\btexture of\b", rest, flags=re.I):
        return "repeats 'Texture of' (several answers in one)"
    if re.search(r"\b(?:region|texture)(?:_| )?\d+\b", rest, flags=re.I):
        return "names a region number instead of describing it"
    p = prompts or PromptSet()
    grams: set[tuple[str, ...]] = set()
    for template in (p.overlay, p.crop, p.retry_suffix, FORM):
        for piece in re.split(r"\{[^{}]*\}", template):
            grams |= _ngrams(piece, ECHO_WORDS)
    if _ngrams(rest, ECHO_WORDS) & grams:
        return f"repeats the question ({ECHO_WORDS}+ words of the prompt)"
    return None


def answer_problem(text: str | None, prompts: PromptSet | None = None) -> str | None:
    """None when ``text`` is an acceptable description (validate.py rules, junk and echo checks against
    ``prompts``, default templates when None), else why."""
    if text is None or not str(text).strip():
        return "no answer for this region"
    return description_problem(text) or junk_problem(text) or echo_problem(text, prompts)
