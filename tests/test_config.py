import sys
from pathlib import Path

import pytest

from digest.cli import main
from digest.config import Config, ConfigError, load_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "digest.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIGEST_CACHE_DIR", raising=False)
    config = load_config()
    assert config == Config()
    assert config.sources == (Path("seeds"),) and config.out == Path("site")
    assert config.theme_count is None
    assert config.keyphrase_backend == "yake"


def test_values_are_read_and_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'title = "Lab digest"\nbase_url = "https://lab.example.org/digest"\n'
        'sources = ["papers", "more"]\nout = "public"\nthemes = 12\nkeyphrases_per_paper = 6\n'
        'templates = "theme"\n',
    )
    config = load_config(path)
    assert config.title == "Lab digest"
    assert config.base_url == "https://lab.example.org/digest/"
    assert config.sources == (tmp_path / "papers", tmp_path / "more")
    assert config.out == tmp_path / "public"
    assert config.templates == tmp_path / "theme"
    assert (config.theme_count, config.keyphrases_per_paper) == (12, 6)


def test_command_line_overrides_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, 'out = "public"\n')
    assert load_config(path, out=Path("elsewhere"), strict=True).out == Path("elsewhere")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("colour = 'red'\n", "unknown key 'colour'"),
        ("themes = 'many'\n", "'themes'"),
        ("themes = 1\n", "'themes'"),
        ("keyphrases_per_paper = 3\n", "'keyphrases_per_paper'"),
        ("base_url = 'lab.example.org'\n", "'base_url'"),
        ("title = 42\n", "'title'"),
        ("sources = 'papers'\n", "'sources'"),
        ("strict = true\n", "unknown key 'strict'"),
        ("keyphrase_backend = 'spacy'\n", "'keyphrase_backend' must be 'yake' or 'yake-rust'"),
        ("keyphrase_backend = 'yake-rust'\nlanguage = 'xx'\n", "'language' is 'xx'"),
    ],
)
def test_bad_keys_and_values_are_named(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_config(_write(tmp_path, text))


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"digest\.toml: invalid TOML"):
        load_config(_write(tmp_path, "title = \n"))


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")


@pytest.mark.parametrize("language", ["en", "en-GB", "de"])
def test_the_yake_rust_backend_is_read(tmp_path: Path, language: str) -> None:
    path = _write(tmp_path, f"keyphrase_backend = 'yake-rust'\nlanguage = '{language}'\n")
    assert load_config(path).keyphrase_backend == "yake-rust"


def test_a_missing_yake_rust_is_one_line_naming_the_key_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "yake_rust", None)  # what `import yake_rust` sees when absent
    path = _write(tmp_path, "keyphrase_backend = 'yake-rust'\n")
    code = main(["build", "--config", str(path), "--out", str(tmp_path / "site")])
    error = capsys.readouterr().err
    assert code == 2
    assert error.count("\n") == 1 and "Traceback" not in error
    assert error.startswith(f"error: {path}: key 'keyphrase_backend'")
    assert "pip install yake-rust" in error
    assert not (tmp_path / "site").exists()
