"""ADEChallengeData2016 folders: genuine samples, synthetic copies, and every kind of bad input."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from textureade import read_ade20k
from textureade.errors import UserError
from textureade.readers import ItemRef, ReadError, open_ade20k
from textureade.testing.synthetic_ade import write_synthetic_ade


def test_genuine_validation_image(ade_samples):
    scenes = list(read_ade20k(ade_samples / "ADEChallengeData2016"))
    assert [s.id for s in scenes] == ["ADE_val_00000001", "ADE_val_00000002", "ADE_val_00000003"]
    s = scenes[0]
    assert s.image.shape == (512, 683, 3) and s.image.dtype == np.uint8
    assert s.labels.dtype == np.int32 and s.labels.shape == (512, 683)
    assert sorted(np.unique(s.labels).tolist()) == [0, 1, 2, 3, 5, 7, 10, 18]
    assert s.split == "validation" and s.source == "ADEChallengeData2016"
    assert s.scene == "abbey" and scenes[2].scene == "access_road"
    assert s.class_names[1] == "wall" and s.class_names[8] == "bed" and s.class_names[9] == "windowpane"
    assert s.class_names[22] == "water" and len(s.class_names) == 150  # "22 " Idx with a blank
    assert s.instances is None and s.parts == [] and s.objects == []


def test_parent_folder_and_split_handling(ade_samples):
    ids = [s.id for s in read_ade20k(ade_samples, split="validation", limit=2)]
    assert ids == ["ADE_val_00000001", "ADE_val_00000002"]
    src = open_ade20k(ade_samples)
    assert src.form == "ADEChallengeData2016" and src.splits() == ["validation"]
    with pytest.raises(UserError, match="no training split"):
        read_ade20k(ade_samples, split="training")
    with pytest.raises(UserError, match="unknown split"):
        read_ade20k(ade_samples, split="val")
    refs = src.items()
    assert refs == sorted(refs) and all(isinstance(r, ItemRef) for r in refs)
    again = pickle.loads(pickle.dumps(src))  # workers get the source and the refs
    assert np.array_equal(again.load(pickle.loads(pickle.dumps(refs[1]))).labels, src.load(refs[1]).labels)


def test_mapping_on_a_150_class_form_is_a_user_error(ade_samples):
    with pytest.raises(UserError, match="drop the mapping"):
        open_ade20k(ade_samples, mapping={2978: 1})


def test_non_ade_paths_are_one_line_user_errors(tmp_path):
    for bad in (tmp_path / "absent", tmp_path):
        with pytest.raises(UserError) as exc:
            read_ade20k(bad)
        assert "\n" not in str(exc.value) and "ADEChallengeData2016" in str(exc.value)
    # a stray file named .parquet below a folder does not make it a (damaged) ADE20K mirror
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.parquet").write_bytes(b"not parquet")
    with pytest.raises(UserError, match=r"is no ADE20K copy: .*ADEChallengeData2016"):
        read_ade20k(tmp_path)
    with pytest.raises(UserError, match=r"cannot read the parquet file .*x\.parquet: .*; re-download it"):
        read_ade20k(tmp_path / "sub" / "x.parquet")  # named: it is the input, and damaged


def test_two_copies_under_one_folder_is_a_user_error(tmp_path):
    write_synthetic_ade(tmp_path, n=2, form="challenge")
    write_synthetic_ade(tmp_path, n=2, form="full")
    with pytest.raises(UserError, match="several ADE20K copies"):
        open_ade20k(tmp_path)
    assert open_ade20k(tmp_path / "ADEChallengeData2016").form == "ADEChallengeData2016"


def test_cli_inspect_nonexistent_exits_2_with_one_line():
    out = subprocess.run(
        [sys.executable, "-m", "textureade.cli", "inspect", "/nonexistent"], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert "does not exist" in out.stderr


def test_cli_inspect_lists_scenes(tmp_path):
    root = write_synthetic_ade(tmp_path, n=3, form="challenge")
    out = subprocess.run(
        [sys.executable, "-m", "textureade.cli", "inspect", str(root), "--limit", "2"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("ADE_train_00000001\ttraining\t")


@pytest.fixture()
def synthetic(tmp_path):
    return write_synthetic_ade(tmp_path / "copy", n=6, form="challenge", seed=3)


def _save_like(path, image: np.ndarray, mode: str) -> None:
    Image.fromarray(image).convert(mode).save(path, quality=95)


def test_bad_inputs_are_rejected_or_converted_and_reading_goes_on(synthetic, tmp_path):
    img = synthetic / "images" / "training"
    ann = synthetic / "annotations" / "training"
    good = {s.id: s for s in read_ade20k(synthetic)}
    assert len(good) == 6
    # 1: truncated JPEG
    data = (img / "ADE_train_00000001.jpg").read_bytes()
    (img / "ADE_train_00000001.jpg").write_bytes(data[: len(data) // 3])
    # 2: annotation missing
    (ann / "ADE_train_00000002.png").unlink()
    # 3: annotation of another size
    lab3 = np.asarray(Image.open(ann / "ADE_train_00000003.png"))
    Image.fromarray(lab3[:-5]).save(ann / "ADE_train_00000003.png")
    # 4: grayscale JPEG, 16-bit annotation
    _save_like(img / "ADE_train_00000004.jpg", np.asarray(Image.open(img / "ADE_train_00000004.jpg")), "L")
    lab4 = np.asarray(Image.open(ann / "ADE_train_00000004.png")).astype(np.uint16)
    Image.fromarray(lab4).save(ann / "ADE_train_00000004.png")
    assert Image.open(ann / "ADE_train_00000004.png").mode.startswith("I;16")
    # 5 (val 1): CMYK JPEG, palette annotation whose colours differ from the indices
    v_img, v_ann = synthetic / "images" / "validation", synthetic / "annotations" / "validation"
    _save_like(v_img / "ADE_val_00000001.jpg", np.asarray(Image.open(v_img / "ADE_val_00000001.jpg")), "CMYK")
    assert Image.open(v_img / "ADE_val_00000001.jpg").mode == "CMYK"
    lab5 = np.asarray(Image.open(v_ann / "ADE_val_00000001.png"))
    pal = Image.fromarray(lab5, mode="P")
    pal.putpalette([(255 - i) % 256 for i in range(256) for _ in range(3)])
    pal.save(v_ann / "ADE_val_00000001.png")
    rejects: list[tuple[str, str]] = []
    scenes = {s.id: s for s in read_ade20k(synthetic, on_reject=lambda i, r: rejects.append((i, r)))}
    reasons = dict(rejects)
    assert set(reasons) == {"ADE_train_00000001", "ADE_train_00000002", "ADE_train_00000003"}
    assert "truncated or corrupt" in reasons["ADE_train_00000001"]
    assert "annotation missing" in reasons["ADE_train_00000002"]
    assert "but the image is" in reasons["ADE_train_00000003"]
    assert all("\n" not in r for r in reasons.values())
    assert list(scenes) == ["ADE_train_00000004", "ADE_val_00000001", "ADE_val_00000002"]  # order kept
    s4 = scenes["ADE_train_00000004"]
    assert s4.image.shape[2] == 3 and np.array_equal(s4.image[..., 0], s4.image[..., 2])  # gray -> RGB
    assert np.array_equal(s4.labels, good["ADE_train_00000004"].labels)  # 16-bit read as values
    s5 = scenes["ADE_val_00000001"]
    assert np.array_equal(s5.labels, good["ADE_val_00000001"].labels)  # palette read by index
    assert (
        np.abs(s5.image.astype(int) - good["ADE_val_00000001"].image.astype(int)).mean() < 12
    )  # CMYK -> RGB
    with pytest.raises(ReadError):
        open_ade20k(synthetic).load(
            ItemRef("ADE_train_00000002", "training", "x", str(img / "ADE_train_00000002.jpg"))
        )


def test_missing_scene_file_and_split(tmp_path):
    root = write_synthetic_ade(tmp_path, n=4, form="challenge")
    (root / "sceneCategories.txt").unlink()
    (root / "objectInfo150.txt").unlink()
    shutil.rmtree(root / "images" / "validation")
    scenes = list(read_ade20k(root))
    assert {s.split for s in scenes} == {"training"} and all(s.scene is None for s in scenes)
    assert scenes[0].class_names[1] == "wall"  # the built-in names stand in for objectInfo150.txt


def test_an_images_folder_without_annotations_is_no_ade_copy(tmp_path):
    (tmp_path / "images" / "training").mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "images" / "training" / "a.jpg")
    with pytest.raises(UserError, match="is no ADE20K copy"):
        read_ade20k(tmp_path)


def test_odd_names_directories_duplicates_and_class_ids_are_their_own_reasons(synthetic):
    """Issue #15: a non-UTF-8 file name, a directory named like an image, two files of one id and
    class ids above 150 each get a one-line reject naming the problem; the other images read."""
    import os

    img = synthetic / "images" / "training"
    ann = synthetic / "annotations" / "training"
    good = {s.id: s for s in read_ade20k(synthetic)}
    odd = os.fsencode(img / "ADE_train_9000001") + b"\xff.jpg"
    shutil.copy(img / "ADE_train_00000001.jpg", odd)
    shutil.copy(ann / "ADE_train_00000001.png", os.fsencode(ann / "ADE_train_9000001") + b"\xff.png")
    (img / "ADE_train_90000013.jpg").mkdir()
    shutil.copy(ann / "ADE_train_00000002.png", ann / "ADE_train_90000013.png")
    shutil.copy(img / "ADE_train_00000003.jpg", img / "ADE_train_00000003.jpeg")
    lab = np.asarray(Image.open(ann / "ADE_train_00000004.png")).copy()
    lab[:3, :3] = 200
    Image.fromarray(lab).save(ann / "ADE_train_00000004.png")
    rejects: list[tuple[str, str]] = []
    scenes = [s.id for s in read_ade20k(synthetic, on_reject=lambda i, r: rejects.append((i, r)))]
    reasons = dict(rejects)
    assert reasons == {
        "ADE_train_00000003": "duplicate id ADE_train_00000003 (images/training/ADE_train_00000003.jpg; "
        "images/training/ADE_train_00000003.jpeg has it too)",
        "ADE_train_00000004": "annotation holds class ids outside 0..150 (max 200, 9 pixels); "
        "not a SceneParse150 annotation",
        "ADE_train_9000001\\xff": "file name ADE_train_9000001\\xff.jpg is not valid UTF-8; rename it",
        "ADE_train_90000013": "image ADE_train_90000013.jpg is a directory, not an image file",
    }
    assert all(r.encode("utf-8") for r in reasons)  # every id is valid UTF-8
    assert scenes == [i for i in good if i != "ADE_train_00000004"]
