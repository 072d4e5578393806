"""The command line as a user meets it: help, summary, warnings, strict mode, exit codes."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from digest.cli import EXIT_FAILED, EXIT_OK, EXIT_STRICT, EXIT_USAGE, main
from digest.sitemap import NO_BASE_URL_NOTE
from tests.conftest import REPO, SEEDS


def _run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digest", *args], cwd=cwd, capture_output=True, text=True
    )


def _bad_inputs(folder: Path) -> Path:
    folder.mkdir()
    (folder / "empty.txt").write_text("")
    (folder / "binary.bin").write_bytes(b"\x00\x01\x02\x89PNG" * 50)
    (folder / "latin1.txt").write_bytes("Caf\xe9 abstracts about graphs.\n".encode("latin-1"))
    (folder / "broken.md").write_text("---\ntitle: [unclosed\n---\nBody text here.\n")
    lines = [
        json.dumps({"abstract": "Graph neural networks learn on graphs and node features."}),
        "{not json",
        json.dumps({"title": "No abstract here"}),
        json.dumps({"abstract": "Huge abstract about protein folding. " * 6000}),
        json.dumps({"abstract": "Protein structure prediction with deep learning models."}),
    ]
    (folder / "papers.jsonl").write_text("\n".join(lines) + "\n")
    with gzip.open(folder / "more.jsonl.gz", "wt") as handle:
        handle.write(json.dumps({"abstract": "Galaxy morphology from telescope images."}) + "\n")
    return folder


def test_help_explains_every_build_option() -> None:
    result = _run("build", "--help")
    assert result.returncode == 0
    for option in ("--source", "--out", "--config", "--strict", "--quiet"):
        assert option in result.stdout
    assert "Exit codes" in result.stdout


def test_build_prints_one_summary_line(tmp_path: Path) -> None:
    result = _run("build", "--source", str(SEEDS), "--out", str(tmp_path / "site"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    summary = lines[0]
    assert "88 records" in summary and "11 duplicates" in summary and "77 papers" in summary
    assert "themes" in summary and "written" in summary and " s" in summary
    assert result.stderr.splitlines() == [NO_BASE_URL_NOTE], "one info line, no warning"


def test_quiet_prints_nothing_when_all_is_well(tmp_path: Path) -> None:
    result = _run("build", "--source", str(SEEDS), "--out", str(tmp_path / "site"), "--quiet")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_bad_input_warns_once_per_problem_and_the_rest_builds(tmp_path: Path) -> None:
    source = _bad_inputs(tmp_path / "bad")
    result = _run("build", "--source", str(source), "--out", str(tmp_path / "site"))
    assert result.returncode == EXIT_OK
    assert "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    expected = [
        "empty.txt",
        "binary.bin",
        "latin1.txt",
        "broken.md",
        "papers.jsonl:2",
        "papers.jsonl:3",
        "papers.jsonl:4",
    ]
    for name in expected:
        assert any(name in w for w in warnings), (name, result.stderr)
    catalog = json.loads((tmp_path / "site/papers.json").read_text())["papers"]
    abstracts = " ".join(p["abstract"] for p in catalog)
    assert "Protein structure prediction" in abstracts and "Galaxy morphology" in abstracts


def test_strict_turns_warnings_into_a_failing_exit_code(tmp_path: Path) -> None:
    source = _bad_inputs(tmp_path / "bad")
    result = _run("build", "--source", str(source), "--out", str(tmp_path / "site"), "--strict")
    assert result.returncode == EXIT_STRICT
    assert "--strict" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    config = tmp_path / "digest.toml"
    config.write_text('title = "Mine"\nthemez = 5\n')
    result = _run("build", "--config", str(config), "--out", str(tmp_path / "site"))
    assert result.returncode == EXIT_USAGE
    assert "unknown key 'themez'" in result.stderr
    config.write_text("keyphrases_per_paper = 40\n")
    result = _run("build", "--config", str(config), "--out", str(tmp_path / "site"))
    assert result.returncode == EXIT_USAGE
    assert "'keyphrases_per_paper'" in result.stderr
    assert "Traceback" not in result.stderr


def test_refuses_to_replace_a_folder_digest_did_not_create(tmp_path: Path) -> None:
    out = tmp_path / "notes"
    out.mkdir()
    (out / "todo.txt").write_text("mine")
    result = _run("build", "--source", str(SEEDS), "--out", str(out))
    assert result.returncode == EXIT_FAILED
    assert "refusing" in result.stderr
    assert [p.name for p in out.iterdir()] == ["todo.txt"]


@pytest.mark.parametrize(
    ("template", "said"),
    [
        ("line one\n{% if %}\n", "paper.html:2: template syntax error"),
        ("{{ paper.nonexistent_field.deeper }}\n", "template error: "),
        ("{% include 'no-such-part.html' %}\n", "template error: no-such-part.html"),
    ],
)
def test_a_template_error_is_one_line_naming_it(tmp_path: Path, template: str, said: str) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "paper.html").write_text(template)
    config = tmp_path / "digest.toml"
    config.write_text('templates = "templates"\n')
    result = _run(
        "build", "--source", str(SEEDS), "--out", str(tmp_path / "s"), "--config", str(config)
    )
    assert result.returncode == EXIT_FAILED
    assert said in result.stderr and "Traceback" not in result.stderr


def test_missing_source_folder_is_a_warning(tmp_path: Path) -> None:
    result = _run("build", "--source", str(tmp_path / "nope"), "--out", str(tmp_path / "s"))
    assert "nope" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("argv", [["build", "--out"], ["frobnicate"]])
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == EXIT_USAGE


def test_progress_in_a_log_names_long_stages_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from digest import cli

    now = [0.0]
    monkeypatch.setattr(cli.time, "perf_counter", lambda: now[0])
    progress = cli.ProgressLog(first=15, every=60)
    for second, done in ((0, 0), (5, 50), (6, 100)):  # 6 s: too short to mention
        now[0] = second
        progress("search", done, 100)
    for second, done in ((10, 0), (20, 100), (30, 200), (79, 300), (90, 400), (200, 1000)):
        now[0] = second
        progress("render", done, 1000)
    progress("render", 1000, 1000)  # reported again at the end: printed once
    assert capsys.readouterr().err.splitlines() == [
        "render: 200/1,000  10/s, 80 s left",  # first line once 15 s have passed
        "render: 400/1,000  5/s, 120 s left",  # then at most once a minute
        "render: 1,000/1,000 in 190 s",
    ]
