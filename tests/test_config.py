from pathlib import Path

import pytest

from whodirected.config import ExtractConfig, load_config, override


def test_defaults_toml_and_flags_in_order(tmp_path: Path) -> None:
    toml = tmp_path / "settings.toml"
    toml.write_text("[extract]\nevery = 5.0\nmax_side = 320\n")
    config = load_config(toml).extract
    assert (config.every, config.max_side, config.jpeg_quality) == (5.0, 320, ExtractConfig().jpeg_quality)
    flags = override(config, every=1.5, max_side=None)
    assert (flags.every, flags.max_side) == (1.5, 320)


def test_settings_hash_changes_with_output_settings() -> None:
    assert ExtractConfig().settings_hash() == ExtractConfig().settings_hash()
    assert (
        ExtractConfig(mode="every", every=1).settings_hash()
        != ExtractConfig(mode="every", every=2).settings_hash()
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("[extract]\nnope = 1\n", "unknown setting"),
        ("[other]\n", "unknown section"),
        ("every = ", "not valid TOML"),
    ],
)
def test_bad_config_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_config(path)


def test_impossible_values_are_refused() -> None:
    with pytest.raises(ValueError, match="skip_edges"):
        ExtractConfig(skip_edges=0.7).validate()
    with pytest.raises(ValueError, match="every"):
        ExtractConfig(mode="every", every=0).validate()
