"""Pure parts of the VLM describer: answer parsing/validation on literal strings, presentations, plans."""

from __future__ import annotations

import json

import numpy as np
import pytest

from textureade.describe import presentation as pres
from textureade.describe import prompts as pr
from textureade.describe.vlm_flow import attempt_plan
from textureade.errors import UserError

GOOD = "Texture of weathered red brick, staggered rectangular courses, lower half of the wall"


def test_parse_overlay_accepts_fenced_json_and_key_variants():
    body = json.dumps(
        {"region_1": GOOD, "2": "texture of calm blue water with small ripples, bottom", "x": 1}
    )
    text = f"```json\n{body}\n```"
    answers, problem = pr.parse_overlay(text, [1, 2, 3])
    assert problem is None
    assert answers[1] == GOOD
    assert answers[2].startswith("Texture of calm blue water")  # prefix case normalised
    assert 3 not in answers


@pytest.mark.parametrize(
    "text, reason",
    [
        ("no json at all", "no JSON object"),
        ('{"region_1": "Texture of', "no JSON object"),
        ('{"region_1": "Texture of a", }', "does not parse"),
        ('["Texture of a b c d"]', "no JSON object"),
    ],
)
def test_parse_overlay_problems(text, reason):
    answers, problem = pr.parse_overlay(text, [1])
    assert answers == {} and reason in problem


def test_parse_single_cleans_quotes_prefixes_and_extra_lines():
    assert pr.parse_single(f'"{GOOD}"\nsome chatter') == GOOD
    assert pr.parse_single(f"Region 1: {GOOD}") == GOOD
    assert pr.parse_single(json.dumps({"region_1": GOOD})) == GOOD
    assert pr.parse_single("") == ""


@pytest.mark.parametrize(
    "text, reason",
    [
        (None, "no answer"),
        ("", "no answer"),
        ("Brick wall, red, rough and old", "does not start"),
        ("Texture of brick", "has 3 words"),
        ("Texture of " + "very " * 30, "words"),
        ("Texture of \ufffd\ufffd random bytes here now", "undecodable"),
        ("Texture of 3#$% 1234 *&^% 5678 !!@@", "non-letter"),
        ("Texture of grass grass grass grass field", "repeated"),
        ("Texture of " + "a" * 40 + " wall here", "over 30"),
        ("Texture of Y, b q r s", "names nothing"),
        ("Texture of wall, a b c d", "names nothing"),
        # echoes of the question and merged answers (found by the issue-5 acceptance review)
        ("Texture of material or surface, visual features, where it is in the image", "repeats the question"),
        ("Texture of the texture (material and surface appearance) that fills it", "repeats the question"),
        ("Texture of wall, rough plaster Texture of floor, wooden boards", "repeats 'Texture of'"),
        ("Texture of region_2 region_3 brick sand", "region number"),
    ],
)
def test_answer_problem_rejects_junk(text, reason):
    problem = pr.answer_problem(text)
    assert problem is not None and reason in problem


def test_answer_problem_accepts_a_good_description():
    assert pr.answer_problem(GOOD) is None
    assert (
        pr.answer_problem("Texture of sky, sky blue, smooth and uniform, in the upper part of the image")
        is None
    )


def test_echo_of_a_custom_prompt_is_rejected_with_that_prompt_set():
    custom = pr.PromptSet(crop="Say which fabric weave and thread colour you see here. {hints}")
    echo = "Texture of fabric weave and thread colour you see, blue"
    assert pr.answer_problem(echo) is None  # not an echo of the default templates
    assert "repeats the question" in pr.answer_problem(echo, custom)


@pytest.mark.parametrize(
    "answer, ok",
    [("wall", True), ("a weathered red brick wall", True), ("Y", False), ("", False), ("x q", False),
     ("#$ 12 wall", False), ("wall " * 13, False), ("a\ufffdb wall", False)],
)  # fmt: skip
def test_phrase_problem(answer, ok):
    assert (pr.phrase_problem(answer) is None) == ok


def test_florence_answer_strips_tokens():
    assert pr.florence_answer("</s><s>a brick wall<loc_12><loc_40></s>") == "a brick wall"
    assert pr.florence_answer("<s></s>") == ""


def test_prompt_hash_changes_with_template_presentation_and_hints():
    base = pr.PromptSet()
    h = pr.prompt_hash(base, "overlay", True)
    assert h == pr.prompt_hash(pr.PromptSet(), "overlay", True)
    assert h != pr.prompt_hash(base, "crop", True)
    assert h != pr.prompt_hash(base, "overlay", False)
    assert h != pr.prompt_hash(pr.PromptSet(crop="Describe {hints}"), "overlay", True)


def test_prompt_set_from_mapping_and_yaml(tmp_path):
    with pytest.raises(UserError, match="unknown prompt keys"):
        pr.PromptSet.from_mapping({"overlai": "x"})
    path = tmp_path / "p.yaml"
    path.write_text("prompts:\n  crop: 'Say it. {hints}'\n")
    assert pr.PromptSet.from_yaml(path).crop == "Say it. {hints}"
    with pytest.raises(UserError, match="does not exist"):
        pr.PromptSet.from_yaml(tmp_path / "missing.yaml")
    path.write_text("prompts: [crop\n")
    with pytest.raises(UserError, match=r"^prompt manifest .* is not valid YAML \(.*\); fix the file$"):
        pr.PromptSet.from_yaml(path)
    path.write_text("- crop\n")
    with pytest.raises(UserError, match="must hold a mapping of keys to values"):
        pr.PromptSet.from_yaml(path)


def test_overlay_prompt_lists_legend_keys_and_hints():
    hints = pr.hint_sentence({1: ["wall"], 2: ["floor", "rug"]})
    text = pr.overlay_prompt(pr.PromptSet(), ["Red", "Green"], [2], hints)
    assert "1 = Red, 2 = Green" in text and "region_2" in text and "region_1" not in text
    assert "2 = floor, rug" in text


def test_attempt_plans():
    assert attempt_plan("overlay", 2) == [("overlay", "first"), ("overlay", "retry"), ("overlay", "sample")]
    assert attempt_plan("crop", 0) == [("crop", "first")]
    assert attempt_plan("crop+overlay", 0) == [("crop", "first"), ("overlay", "first")]
    assert attempt_plan("overlay+crop", 3)[2:] == [("crop", "retry"), ("crop", "sample")]
    assert attempt_plan("box", 2, florence=True) == [("box", "first"), ("box", "sample"), ("box", "sample")]
    with pytest.raises(ValueError):
        attempt_plan("mosaic", 1)


def _scene():
    img = np.full((40, 60, 3), 100, np.uint8)
    lm = np.zeros((40, 60), np.int32)
    lm[:20] = 1
    lm[20:, :30] = 2
    lm[20:, 30:] = 3
    return img, lm


def test_overlay_tints_regions_in_miner_colours():
    img, lm = _scene()
    out = pres.render_overlay(img, lm, [1, 2, 3])
    assert out.shape == img.shape and out.dtype == np.uint8
    # away from the number labels each region is tinted toward its colour
    assert out[2, 2, 0] > out[2, 2, 1] and out[2, 2, 0] > out[2, 2, 2]  # red
    assert out[38, 2, 1] > out[38, 2, 0]  # green
    assert out[38, 58, 2] > out[38, 58, 0]  # blue
    with pytest.raises(ValueError):
        pres.render_overlay(img, lm, list(range(1, 8)))
    assert pres.overlay_groups(list(range(1, 9))) == [[1, 2, 3, 4, 5, 6], [7, 8]]


def test_masked_crop_greys_outside_and_keeps_min_size():
    img, lm = _scene()
    img[lm == 2] = (200, 10, 10)
    crop = pres.masked_crop(img, lm == 2, margin=0.1)
    assert crop.shape[0] >= 20 and crop.shape[1] >= 30
    assert (crop[-1, 0] == (200, 10, 10)).all()
    assert (crop[0, -1] == pres.GREY).all()  # the margin outside region 2 is grey
    tiny = np.zeros((40, 60), bool)
    tiny[5:7, 5:8] = True
    assert min(pres.masked_crop(img, tiny).shape[:2]) >= 32


def test_florence_tokens_and_position_phrase():
    img, lm = _scene()
    box = pres.region_box(lm == 3)
    assert box == (30, 20, 60, 40)
    assert pres.florence_box_tokens(box, 60, 40) == "<loc_500><loc_500><loc_983><loc_975>"
    assert pres.position_phrase(lm == 1) == "large region in the upper centre of the image"
    assert "lower right" in pres.position_phrase(lm == 3)
    with pytest.raises(ValueError):
        pres.region_box(np.zeros((4, 4), bool))
