"""The attempt loop of :class:`textureade.describe.vlm.VlmDescriber`: cache, prompts, validation, fallback.

Split from vlm.py (which holds the model side). ``run_flow(describer, items)`` describes several
images: cached decisions are read first, then each attempt of the plan (``attempt_plan``) asks
every still-unanswered region of every image in shared generate batches; answers are validated
and de-duplicated per image; what is left goes to the fallback describer; decisions are cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from textureade.describe import presentation as pres
from textureade.describe import prompts as pr
from textureade.describe.base import DescribeResult, RegionInfo
from textureade.describe.cache import image_hash
from textureade.describe.validate import descriptions_problems, normalise

FLORENCE = "florence2"


def attempt_plan(presentation: str, max_retries: int, florence: bool = False) -> list[tuple[str, str]]:
    """[(stage, variant)] per attempt; variant: "first" | "retry" (re-prompt with the reason) | "sample".

    1 + max_retries attempts, but never fewer than the presentation's stages: "overlay" with 2
    retries -> overlay/first, overlay/retry, overlay/sample; "crop+overlay" -> crop/first,
    overlay/first, then retries on the overlay. Florence-2's prompt is a fixed task, so its retries
    sample.
    """
    st = pres.stages(presentation)
    steps = [(s, "first") for s in st]
    variants = ["sample"] if florence else ["retry", "sample"]
    i = 0
    while len(steps) < 1 + max_retries:
        steps.append((st[-1], variants[min(i, len(variants) - 1)]))
        i += 1
    return steps[: max(1 + max_retries, len(st))]


@dataclass
class Job:
    """One prompt to the model.

    item: index of the image in the batch of items. kind: the stage shown ("overlay" | "crop" |
    "box"). numbers: overlay number (or 1) -> region id, for the regions whose answers are asked.
    images: H x W x 3 uint8 arrays, in prompt order. text: the user prompt (chat models) or the
    Florence-2 task string. sample: decode by seeded sampling instead of greedily. masks: region id ->
    H x W bool, for completing Florence-2 answers with a position phrase.
    """

    item: int
    kind: str  # "overlay" | "crop" | "box"
    numbers: dict[int, int]
    images: list[np.ndarray]
    text: str
    sample: bool
    masks: dict[int, np.ndarray]


@dataclass(frozen=True)
class Answer:
    """One decoded answer. text: decoded without special tokens. confidence: the mean probability the
    model gave the tokens it produced (``vlm.token_confidence``), in [0, 1]."""

    text: str
    confidence: float


def _key(text: str) -> str:
    return normalise(text).lower().rstrip(".")


@dataclass
class _State:
    image: np.ndarray
    label_map: np.ndarray
    regions: list[RegionInfo]
    ids: list[int]
    keys: dict[int, str] = field(default_factory=dict)
    answers: dict[int, str] = field(default_factory=dict)  # accepted model answers
    fallback: dict[int, str] = field(default_factory=dict)  # region -> why it falls back
    reasons: dict[int, str] = field(default_factory=dict)  # last rejection reason
    attempts: dict[int, int] = field(default_factory=dict)
    cached: set[int] = field(default_factory=set)
    tentative: dict[int, str] = field(default_factory=dict)

    def pending(self) -> list[int]:
        return [k for k in self.ids if k not in self.answers and k not in self.fallback]

    def accept(self) -> None:
        """Accept tentative answers in region order unless they repeat an accepted one."""
        seen = {_key(v): k for k, v in self.answers.items()}
        for k in self.ids:
            if k not in self.tentative:
                continue
            text = self.tentative.pop(k)
            if _key(text) in seen:
                self.reasons[k] = f"duplicate of region {seen[_key(text)]}"
            else:
                self.answers[k] = text
                seen[_key(text)] = k


def _check_item(image: np.ndarray, label_map: np.ndarray, regions: list[RegionInfo]) -> list[int]:
    ids = [r.index for r in regions]
    if ids != list(range(1, len(ids) + 1)):
        raise ValueError(f"regions must be numbered 1..K in order, got {ids}")
    if label_map.shape != image.shape[:2]:
        raise ValueError(f"label map {label_map.shape} does not match image {image.shape[:2]}")
    present = set(np.unique(label_map).tolist())
    empty = [k for k in ids if k not in present]
    if empty:
        raise ValueError(f"regions {empty} have no pixels in the label map")
    return ids


def _hints(d: Any, st: _State, numbers: dict[int, int], single: bool) -> str:
    if not d.hints:
        return ""
    names = {n: st.regions[rid - 1].class_names for n, rid in numbers.items()}
    return pr.hint_sentence(names, single=single)


def _jobs(d: Any, i: int, st: _State, stage: str, variant: str) -> list[Job]:
    pending = st.pending()
    florence = d.family == FLORENCE
    sample = variant == "sample"
    retry = ""
    if variant != "first":
        reasons = sorted({st.reasons[k] for k in pending if k in st.reasons})
        retry = d.prompts.retry_suffix.format(reason="; ".join(reasons)[:160] or "invalid answer")
    jobs = []
    if stage == "overlay":
        for group in pres.overlay_groups(st.ids):
            numbers = {n + 1: rid for n, rid in enumerate(group)}
            ask = {n: rid for n, rid in numbers.items() if rid in pending}
            if not ask:
                continue
            legend = [pres.COLOURS[n - 1][0] for n in numbers]
            text = pr.overlay_prompt(d.prompts, legend, list(ask), _hints(d, st, numbers, False)) + retry
            overlay = pres.render_overlay(st.image, st.label_map, group)
            jobs.append(Job(i, "overlay", ask, [st.image, overlay], text, sample, {}))
        return jobs
    for rid in pending:
        mask = st.label_map == rid
        if stage == "box":
            h, w = mask.shape
            text = d.prompts.florence_task + pres.florence_box_tokens(pres.region_box(mask), w, h)
            jobs.append(Job(i, "box", {1: rid}, [st.image], text, sample, {rid: mask}))
            continue
        crop = pres.masked_crop(st.image, mask)
        if florence:
            text = d.prompts.florence_task + pres.florence_box_tokens((0, 0, crop.shape[1], crop.shape[0]),
                                                                      crop.shape[1], crop.shape[0])  # fmt: skip
        else:
            text = d.prompts.crop.format(hints=_hints(d, st, {1: rid}, True)) + retry
        jobs.append(Job(i, "crop", {1: rid}, [crop], text, sample, {rid: mask}))
    return jobs


def _apply(d: Any, st: _State, job: Job, answer: Answer) -> None:
    """Turn one raw answer into tentative answers or rejection reasons for the job's regions."""
    raw = answer.text
    if answer.confidence < d.min_confidence:  # words a model merely guessed are junk, however real
        for rid in job.numbers.values():
            st.attempts[rid] = st.attempts.get(rid, 0) + 1
            st.reasons[rid] = f"the model is guessing (mean token probability < {d.min_confidence:g})"
        return
    if job.kind == "overlay":
        parsed, problem = pr.parse_overlay(raw, list(job.numbers))
        cands = {rid: parsed.get(n) for n, rid in job.numbers.items()}
    elif d.family == FLORENCE:
        (rid,) = job.numbers.values()
        answer = pr.florence_answer(raw)
        problem = pr.phrase_problem(answer)
        position = pres.position_phrase(job.masks[rid])
        cands = {rid: None if problem else d.prompts.compose.format(answer=answer, position=position)}
    else:
        problem = None
        cands = {rid: pr.parse_single(raw) for rid in job.numbers.values()}
    for rid, cand in cands.items():
        st.attempts[rid] = st.attempts.get(rid, 0) + 1
        reason = problem or pr.answer_problem(cand, d.prompts)
        if reason is None:
            st.tentative[rid] = cand
        else:
            st.reasons[rid] = reason


def _usable(entry: dict[str, Any] | None, prompts: pr.PromptSet) -> bool:
    """A cached decision can stand in for asking: it records its attempts (entries written before
    they did cannot reproduce the provenance) and an "ok" answer passes today's rules."""
    if entry is None or not isinstance(entry.get("attempts"), int):
        return False
    return entry["status"] != "ok" or pr.answer_problem(entry.get("description"), prompts) is None


def run_flow(d: Any, items: list[tuple[np.ndarray, np.ndarray, list[RegionInfo]]]) -> list[DescribeResult]:
    """Describe every (image, label_map, regions) item with describer ``d`` (a VlmDescriber)."""
    states = []
    for image, label_map, regions in items:
        ids = _check_item(image, label_map, regions)
        st = _State(image, np.asarray(label_map), list(regions), ids)
        img_h = image_hash(image)
        groups = {rid: g for g in pres.overlay_groups(ids) for rid in g}
        st.keys = {rid: d.region_key(img_h, st.label_map, rid, groups[rid]) for rid in ids}
        states.append(st)
        d.stats["regions"] += len(ids)
    if d.cache is not None:
        found = d.cache.get_many([k for st in states for k in st.keys.values()])
        for st in states:
            for rid in st.ids:
                entry = found.get(st.keys[rid])
                if not _usable(entry, d.prompts):
                    continue  # a miss, an old entry, or an answer today's rules reject: ask again
                st.cached.add(rid)
                st.attempts[rid] = int(entry["attempts"])  # a hit reproduces the original provenance
                if entry["status"] == "fallback":
                    st.fallback[rid] = entry.get("reason", "cached fallback")
                else:
                    st.tentative[rid] = entry["description"]
            st.accept()
            for rid in [r for r in st.cached if r not in st.answers and r not in st.fallback]:
                st.cached.discard(rid)  # a cached answer that now collides: asked afresh
                st.attempts.pop(rid, None)
                st.reasons.pop(rid, None)
            d.stats["cache_hits"] += len(st.cached)

    florence = d.family == FLORENCE
    for attempt, (stage, variant) in enumerate(attempt_plan(d.presentation, d.max_retries, florence)):
        jobs = [j for i, st in enumerate(states) for j in _jobs(d, i, st, stage, variant)]
        if not jobs:
            break
        for job, answer in zip(jobs, d.generate(jobs, attempt)):
            _apply(d, states[job.item], job, answer)
        for st in states:
            st.accept()
    return [_finish(d, st) for st in states]


def _finish(d: Any, st: _State) -> DescribeResult:
    """Fallback for unanswered regions, final validation, cache writes, provenance."""
    for rid in st.pending():
        st.fallback[rid] = st.reasons.get(rid, "no valid answer")
    descriptions = [st.answers.get(k) for k in st.ids]
    whole = None
    fb_name = None
    if st.fallback:
        fb = d.fallback_describer()
        fb_name = getattr(fb, "name", type(fb).__name__)
        fb_desc = fb.describe(st.image, st.label_map, st.regions).descriptions
        descriptions = [fb_desc[k - 1] if k in st.fallback else descriptions[k - 1] for k in st.ids]
        problems = [p for p in descriptions_problems(descriptions) if p]
        if problems:
            whole = f"merged descriptions invalid ({problems[0]}); all regions from the fallback"
            descriptions = list(fb_desc)
            bad = [p for p in descriptions_problems(descriptions) if p]
            if bad or len(descriptions) != len(st.ids):
                raise RuntimeError(f"fallback describer {fb_name} returned invalid descriptions ({bad[:1]})")
    d.stats["fallback_regions"] += len(st.fallback)
    if d.cache is not None:
        new = {
            st.keys[k]: {"status": "ok", "description": v, "attempts": st.attempts.get(k, 0)}
            for k, v in st.answers.items()
            if k not in st.cached
        }
        for k, reason in st.fallback.items():
            if k not in st.cached:
                new[st.keys[k]] = {"status": "fallback", "reason": reason, "attempts": st.attempts.get(k, 0)}
        d.cache.put_many(new, model=d.model_key, prompt=d.cache_hash)
    sources = ["fallback" if (whole or k in st.fallback) else "model" for k in st.ids]
    prov = d.provenance() | {
        "sources": sources,
        "attempts": [st.attempts.get(k, 0) for k in st.ids],
        "fallback_regions": sorted(st.fallback),
        "fallback_reasons": {str(k): v for k, v in sorted(st.fallback.items())},
        "fallback_describer": fb_name,
        "whole_image_fallback": whole,
    }  # the decision only: cache hits and prompt counts go to ``d.stats`` (build report), never here
    return DescribeResult(descriptions=[normalise(t) for t in descriptions], provenance=prov)
