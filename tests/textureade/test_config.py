"""Bad values in a build config's ``mining:`` / ``describer_options:`` (and in a mining YAML) are a
one-line UserError at resolve time naming the file, the key and the expected type: before, they
were tracebacks (``mining: bogus``, ``describer_options: 3``), a crash after mining every image
(``min_score: abc``), a build rejecting every image (``texture_surface: 5``) or an error blaming
the shipped manifests/mining/default.yaml (``bogus_key: 1``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from click.testing import CliRunner

from textureade.cli import cli
from textureade.config import load_mining_config, resolve_build_config
from textureade.errors import UserError
from textureade.testing.synthetic_ade import write_synthetic_ade
from textureade.yamlfile import check_yaml_types


def _resolve(tmp_path, text: str):
    (tmp_path / "c.yaml").write_text(text)
    return resolve_build_config({"ade20k": "x", "out": "y"}, tmp_path / "c.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mining: bogus\n", "c.yaml: mining must be a mapping, got 'bogus'"),
        ("mining: 3\n", "c.yaml: mining must be a mapping, got 3"),
        ("describer_options: 3\n", "c.yaml: describer_options must be a mapping, got 3"),
        ("describer_options: [a]\n", "c.yaml: describer_options must be a mapping, got ['a']"),
        ("mining: {min_score: abc}\n", "c.yaml: mining.min_score must be float, got 'abc'"),
        ("mining: {max_regions: 2.5}\n", "c.yaml: mining.max_regions must be int, got 2.5"),
        ("mining: {use_parts: 1}\n", "c.yaml: mining.use_parts must be bool, got 1"),
        ("mining: {texture_surface: 5}\n", "c.yaml: mining.texture_surface must be a list of strings, got 5"),
        ("mining: {object: [car, 3]}\n", "c.yaml: mining.object must be a list of strings, got ['car', 3]"),
        ("mining: {weights: {entropy: x}}\n", "c.yaml: mining.weights must be a mapping of names to numbers"),
        (
            "mining: {segment_count_range: [2]}\n",
            "c.yaml: mining.segment_count_range must be a list of 2 integers",
        ),
        ("mining: {bogus_key: 1}\n", "c.yaml: unknown key(s) mining.bogus_key; see "),
        ("mining: {recipe: nope}\n", "c.yaml: mining.recipe must be one of default, detecture, got 'nope'"),
        ("mining: {classes: 3}\n", "c.yaml: 'mining.classes' must name a YAML file of keyword lists"),
        (
            "mining: {recipe: detecture, detecture: {selected_min: abc}}\n",
            "c.yaml: mining.detecture.selected_min must be float, got 'abc'",
        ),
        (
            "mining: {recipe: detecture, detecture: {nope: 1}}\n",
            "c.yaml: unknown mining.detecture key(s) nope",
        ),
    ],
)
def test_a_bad_mining_or_describer_options_value_names_the_build_config_and_the_key(tmp_path, text, message):
    with pytest.raises(UserError) as err:
        _resolve(tmp_path, text)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert "default.yaml:" not in str(err.value)  # the user's file is blamed, not the shipped manifest


def test_good_mining_overrides_still_resolve(tmp_path):
    cfg = _resolve(
        tmp_path,
        "mining:\n  min_score: 10\n  texture_surface: [grass]\n  weights: {entropy: 7}\n"
        "  boundary_density_range: [1, 9.5]\n  use_parts: false\ndescriber_options: {}\n",
    ).mining_resolved()
    assert (cfg.min_score, cfg.texture_surface, cfg.weights, cfg.use_parts) == (
        10,
        ["grass"],
        {"entropy": 7},
        False,
    )
    assert cfg.boundary_density_range == (1.0, 9.5)


def test_a_mining_yaml_and_programmatic_overrides_are_checked_too(tmp_path):
    (tmp_path / "m.yaml").write_text("classes: classes.yaml\nmin_score: abc\n")
    with pytest.raises(UserError, match=r"mining config .*m\.yaml: min_score must be float, got 'abc'"):
        load_mining_config(tmp_path / "m.yaml")
    with pytest.raises(UserError, match="^mining overrides: texture_surface must be a list of strings"):
        load_mining_config(None, {"texture_surface": 5})
    with pytest.raises(UserError, match="^mining overrides must be a mapping, got 'bogus'"):
        load_mining_config(None, "bogus")  # type: ignore[arg-type]


def test_check_yaml_types_reads_the_annotations():
    @dataclass
    class Demo:
        n: int | None = None
        pair: tuple[float, float] = (0.0, 1.0)
        names: list[str] = field(default_factory=list)
        other: set[int] = field(default_factory=set)  # not an annotation it knows: left alone

    check_yaml_types({"n": None, "pair": [1, 2.5], "names": [], "other": "anything"}, Demo, "w")
    for data, message in [
        ({"n": True}, "w: n must be int or null, got True"),
        ({"pair": [1, "a"]}, "w: pair must be a list of 2 numbers"),
        ({"pair": [1, 2, 3]}, "w: pair must be a list of 2 numbers"),
        ({"names": "grass"}, "w: names must be a list of strings, got 'grass'"),
    ]:
        with pytest.raises(UserError) as err:
            check_yaml_types(data, Demo, "w")
        assert str(err.value).startswith(message)


def test_the_cli_stops_before_any_work_and_leaves_no_out(tmp_path):
    src = write_synthetic_ade(tmp_path / "ade", n=4, form="challenge", seed=0)
    (tmp_path / "c.yaml").write_text("mining: {min_score: abc}\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli, ["build", "--ade20k", str(src), "--out", str(out), "--config", str(tmp_path / "c.yaml")]
    )
    assert isinstance(res.exception, UserError), res.output  # main() prints it as one line, exit 2
    assert "mining.min_score must be float" in str(res.exception)
    assert not out.exists()
