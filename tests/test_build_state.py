"""Incremental builds: what a rebuild reuses, and that reusing never changes a byte of output."""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from digest.build import build
from digest.build_state import BuildState
from digest.fingerprint import Fingerprinter, hashed_by_repr
from digest.model import Paper, PaperDate, Source, Theme
from digest.output import MARKER
from digest.paths import paper_path, theme_feed_path, theme_path
from digest.tracked_site import TrackedSite, dep_value
from tests.conftest import EDITED_SEED, REPO, built_as_cold, corpus_config, edit_seed, site_files


def test_a_rebuild_gives_the_same_bytes_as_a_cold_build(corpus: Path, tmp_path: Path) -> None:
    state = BuildState()
    config = corpus_config(corpus, tmp_path / "site")
    build(config, state=state)
    edit_seed(corpus)
    build(config, state=state)
    assert 0 < state.pages.rendered < state.pages.rendered + state.pages.kept
    assert state.files_read == 1 and state.files_reused == 4

    cold = replace(corpus_config(corpus, tmp_path / "cold"), cache_dir=tmp_path / "cold-cache")
    incremental = built_as_cold(tmp_path / "site", cold)
    assert any(b"Otters study conditions" in content for content in incremental.values())


def test_an_edited_abstract_renders_only_the_pages_that_show_it(
    corpus: Path, tmp_path: Path
) -> None:
    """Not every page: the rest only name or link its theme, which did not change."""
    state = BuildState()
    config = corpus_config(corpus, tmp_path / "site")
    build(config, state=state)
    edit_seed(corpus)
    build(config, state=state)
    assert state.pages.kept > 10 * state.pages.rendered > 0


def test_a_rebuild_into_an_untouched_site_reads_no_page_it_keeps(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder is as the last build left it, so kept pages are taken on trust; only the
    pages rendered again (compared before writing) and the search shards are read."""
    config = corpus_config(corpus, tmp_path / "site")
    build(config)
    edit_seed(corpus)
    site = (tmp_path / "site").resolve()
    read: list[Path] = []
    real_read_bytes = Path.read_bytes

    def counted(path: Path) -> bytes:
        if site in path.resolve().parents:
            read.append(path)
        return real_read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", counted)
    again = BuildState()
    build(config, state=again)
    monkeypatch.undo()
    shards = len(list((site / "search").iterdir()))
    assert again.pages.kept > 100 and again.pages.rendered > 0
    assert len(read) <= again.pages.rendered + shards
    cold = replace(corpus_config(corpus, tmp_path / "cold"), cache_dir=tmp_path / "cold-cache")
    built_as_cold(site, cold)


def test_a_second_build_with_nothing_changed_touches_nothing(corpus: Path, tmp_path: Path) -> None:
    config = corpus_config(corpus, tmp_path / "site")
    first = build(config)
    files = {p: (tmp_path / "site" / p).stat() for p in site_files(tmp_path / "site")}
    again = BuildState()
    report = build(config, state=again)
    assert (report.pages_written, report.pages_unchanged) == (
        0,
        first.pages_written + first.pages_unchanged,
    )
    assert report.up_to_date and not first.up_to_date
    assert (report.records, report.papers, report.themes) == (88, 77, first.themes)
    assert (again.pages.rendered, again.files_read) == (0, 0)
    after = {p: (tmp_path / "site" / p).stat() for p in site_files(tmp_path / "site")}
    assert {p: (s.st_ino, s.st_mtime_ns) for p, s in after.items()} == {
        p: (s.st_ino, s.st_mtime_ns) for p, s in files.items()
    }


def test_a_page_removed_or_edited_in_the_site_folder_is_made_again(
    corpus: Path, tmp_path: Path
) -> None:
    """Nothing in the sources changed, so only a look at the site folder can tell."""
    config = corpus_config(corpus, tmp_path / "site")
    build(config)
    site = tmp_path / "site"
    removed, edited = sorted(p for p in site_files(site) if p.startswith("papers/"))[:2]
    original = {p: (site / p).read_bytes() for p in (removed, edited)}
    (site / removed).unlink()
    (site / edited).write_bytes(original[edited].replace(b"</body>", b"<p>mine</p></body>"))
    report = build(config)
    assert not report.up_to_date and report.pages_written == 2
    assert {p: (site / p).read_bytes() for p in (removed, edited)} == original
    assert build(config).up_to_date


def test_the_site_a_build_records_is_the_one_on_disk(corpus: Path, tmp_path: Path) -> None:
    """A build stats only the files it wrote to record the site folder for the next one."""
    config = corpus_config(corpus, tmp_path / "site")
    build(config)
    folder = (tmp_path / "site").stat().st_ino
    edit_seed(corpus)
    assert build(config).pages_written > 0
    assert (tmp_path / "site").stat().st_ino == folder  # the files were moved in one by one
    assert build(config).up_to_date
    (tmp_path / "site" / "mine.txt").write_text("kept", encoding="utf-8")
    regrouped = replace(config, themes=3)
    assert build(regrouped).pages_written > 0
    assert (tmp_path / "site").stat().st_ino != folder  # a new folder was swapped in whole
    assert build(regrouped).up_to_date
    assert (tmp_path / "site" / "mine.txt").read_text(encoding="utf-8") == "kept"


def test_a_theme_renamed_after_its_leading_phrase_changes_no_list_of_its_papers(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lists (keyphrase pages, all papers, search results) name a paper's theme by its short
    name, the leading phrase: when an edit shifts a theme's trailing name phrases, as a refit
    of the themes often does, the theme's own pages change, not every list its papers are in."""
    import digest.pipeline

    config = corpus_config(corpus, tmp_path / "site", cache_dir=tmp_path / "cache")
    build(config)
    before = site_files(tmp_path / "site")
    grouping = digest.pipeline.group_themes
    renamed: list[Theme] = []

    def with_a_new_trailing_phrase(*args: Any, **kwargs: Any) -> Any:
        papers, themes = grouping(*args, **kwargs)
        renamed.append(replace(themes[0], name=f"{themes[0].short_name} & tensor networks"))
        return papers, (renamed[-1], *themes[1:])

    monkeypatch.setattr(digest.pipeline, "group_themes", with_a_new_trailing_phrase)
    build(replace(config, cache_dir=tmp_path / "cache-2"))  # grouped again, pages compared
    after = site_files(tmp_path / "site")
    changed = {path for path, content in after.items() if before.get(path) != content}
    theme = renamed[-1]
    own = {paper_path(pid) for pid in theme.paper_ids}
    assert own <= changed  # each shows the full name, and why the paper is in the theme
    shared = {theme_path(theme.slug), theme_feed_path(theme.slug), "index.html", "papers.json"}
    assert changed - own <= shared | {"feed.xml"}
    link = f'href="../{theme_path(theme.slug)}">'.encode()
    listing = [c for p, c in after.items() if p.startswith("keyphrases/") and link in c]
    assert listing and all(link + f"{theme.short_name}</a>".encode() in c for c in listing)


def test_a_change_that_alters_no_page_renders_nothing_and_keeps_every_file(
    corpus: Path, tmp_path: Path
) -> None:
    config = corpus_config(corpus, tmp_path / "site")
    build(config)
    inodes = {p: (tmp_path / "site" / p).stat().st_ino for p in site_files(tmp_path / "site")}
    with (corpus / EDITED_SEED).open("a", encoding="utf-8") as handle:
        handle.write("\n\n")  # blank lines: no record, no line number moves
    again = BuildState()
    report = build(config, state=again)
    assert (again.pages.rendered, report.pages_written) == (0, 0)
    assert again.pages.kept > 100
    after = {p: (tmp_path / "site" / p).stat().st_ino for p in site_files(tmp_path / "site")}
    assert {p for p in after if after[p] != inodes[p]} == {MARKER}


def test_the_same_folders_named_another_way_render_nothing_again(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    build(corpus_config(Path("papers"), Path("site")))
    again = BuildState()
    absolute = corpus_config(corpus.resolve(), (tmp_path / "site").resolve())
    report = build(absolute, state=again, stop_if_up_to_date=False)
    assert (again.pages.rendered, report.pages_written) == (0, 0)
    assert again.pages.kept > 100


def test_an_edit_inside_the_site_folder_is_undone_by_the_next_build(
    corpus: Path, tmp_path: Path
) -> None:
    config = corpus_config(corpus, tmp_path / "site")
    build(config)
    page = tmp_path / "site" / "index.html"
    good = page.read_bytes()
    page.write_bytes(good.replace(b"</main>", b"<p>stray edit</p></main>"))
    build(config)
    assert page.read_bytes() == good


def test_a_template_change_renders_every_page_that_uses_it(corpus: Path, tmp_path: Path) -> None:
    overrides = tmp_path / "templates"
    overrides.mkdir()
    config = replace(corpus_config(corpus, tmp_path / "site"), templates=overrides)
    state = BuildState()
    build(config, state=state)
    paper_template = (REPO / "templates" / "paper.html").read_text(encoding="utf-8")
    (overrides / "paper.html").write_text(
        paper_template.replace("<h2>Abstract</h2>", "<h2>Gist</h2>")
    )
    build(config, state=state)
    pages = list((tmp_path / "site" / "papers").glob("*.html"))
    assert all("<h2>Gist</h2>" in p.read_text(encoding="utf-8") for p in pages)
    assert state.pages.rendered >= len(pages)


def test_a_tampered_output_file_is_rendered_again(corpus: Path, tmp_path: Path) -> None:
    config = corpus_config(corpus, tmp_path / "site")
    state = BuildState()
    build(config, state=state)
    page = tmp_path / "site" / "index.html"
    good = page.read_bytes()
    page.write_bytes(b"tampered")
    build(config, state=state)
    assert page.read_bytes() == good and state.pages.rendered == 1


def test_unchanged_files_are_not_read_again_but_their_warnings_are_repeated(
    corpus: Path, tmp_path: Path
) -> None:
    (corpus / "bad.jsonl").write_text('{"abstract": "A fine abstract about otters."}\n{oops\n')
    config = corpus_config(corpus, tmp_path / "site")
    state = BuildState()
    first = build(config, state=state)
    with (corpus / EDITED_SEED).open("a", encoding="utf-8") as handle:
        handle.write("\n")
    second = build(config, state=state)
    assert state.files_read == 1 and state.files_reused == 5
    skipped = build(config, state=state)  # nothing changed: not even a file is looked at
    assert state.files_read == state.files_reused == 0
    assert first.warnings == second.warnings == skipped.warnings == 1


def test_a_deleted_file_is_forgotten(corpus: Path, tmp_path: Path) -> None:
    config = corpus_config(corpus, tmp_path / "site")
    state = BuildState()
    first = build(config, state=state)
    (corpus / EDITED_SEED).unlink()
    second = build(config, state=state)
    assert second.records == first.records - 11
    assert state.files_reused == 4


# --- the pieces -----------------------------------------------------------------------------


def _paper(pid: str, abstract: str = "An abstract.") -> Paper:
    return Paper(pid, f"Title {pid}", False, abstract, (Source("in/a.txt", 1),))


def test_equal_values_have_equal_digests_and_any_difference_shows() -> None:
    one, two = Fingerprinter(), Fingerprinter()
    assert one.digest([_paper("a"), {"k": (1, None)}]) == two.digest(
        [_paper("a"), {"k": (1, None)}]
    )
    assert one.digest(_paper("a")) != one.digest(_paper("a", "Another abstract."))
    assert one.digest(("a", "b")) != one.digest(("a b",))
    assert one.digest(("ab", "c")) != one.digest(("a", "bc"))
    assert one.digest([1]) != one.digest(["1"])
    assert one.digest(True) != one.digest(1)


def test_model_values_hashed_by_repr_still_show_any_difference() -> None:
    """Papers, themes and keyphrases are hashed by their repr (see digest.fingerprint)."""
    paper = _paper("a")
    variants = [
        replace(paper, sources=(Source("in/a.txt", 2),)),
        replace(paper, date=PaperDate(2020, 1)),
        replace(paper, date=PaperDate(2020, 1, 2)),
        replace(paper, keyphrases=("a b",)),
        replace(paper, keyphrases=("a", "b")),
        replace(paper, title='Title "a"'),
        replace(paper, abstract="An abstract.\x00"),
    ]
    digests = {Fingerprinter().digest(v) for v in [paper, *variants]}
    assert len(digests) == len(variants) + 1
    assert Fingerprinter().digest(paper) == Fingerprinter().digest(_paper("a"))
    theme = Theme("t", "T", ("x",), (), "T")
    assert Fingerprinter().digest(theme) != Fingerprinter().digest(replace(theme, name="U"))
    assert all(map(hashed_by_repr, [paper, theme, "text", 3, None, ("missing",)]))
    assert not any(map(hashed_by_repr, [{"a": 1}, ("a", 1), [paper], object()]))


def test_objects_of_unknown_kinds_never_match_another_build() -> None:
    value = object()
    assert Fingerprinter().digest(value) != Fingerprinter().digest(value)


def test_a_sequence_read_only_for_its_length_depends_on_the_length() -> None:
    themes = tuple(Theme(f"t{i}", f"T{i}", (), (f"p{i}",), f"T{i}") for i in range(3))
    site = TrackedSite({"themes": themes, "by_slug": {t.slug: t for t in themes}, "n": 3})
    site.start_page()
    assert len(site["themes"]) == 3
    assert site["by_slug"].get("t1").name == "T1"
    assert "t9" not in site["by_slug"]
    deps = site.end_page()
    assert deps == (("by_slug", "item", "t1"), ("by_slug", "item", "t9"), ("themes", "len", ""))
    renamed = TrackedSite({**site, "themes": (*themes[:2], replace(themes[2], name="New"))})
    assert dep_value(renamed, ("themes", "len", ""), None) == dep_value(site, deps[2], None)
    site.start_page()
    assert [t.slug for t in site["themes"]] == ["t0", "t1", "t2"]
    assert site.end_page() == (("themes", "all", ""),)


def test_reading_outside_a_page_is_not_noted() -> None:
    site = TrackedSite({"n": 1})
    assert site["n"] == 1
    site.start_page()
    assert site.end_page() == ()


@pytest.fixture(autouse=True)
def _quiet_logging() -> None:
    logging.getLogger("digest").setLevel(logging.WARNING)


def test_a_warm_build_loads_neither_scipys_fitting_nor_yake(corpus: Path, tmp_path: Path) -> None:
    """Importing them takes seconds; a build with everything cached has no use for them. No
    build imports scikit-learn (``digest.lsa_fit``)."""
    import os
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from digest.cli import main\n"
        f"code = main(['build', '--source', {str(corpus)!r}, '--out', {str(tmp_path / 'site')!r},"
        " '--quiet'])\n"
        "print(code, sorted(m for m in ('scipy.sparse.linalg', 'sklearn', 'yake')"
        " if m in sys.modules))\n"
    )
    env = {**os.environ, "DIGEST_CACHE_DIR": str(tmp_path / "cache")}
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        ).stdout.split("\n")[-2]
        for _ in range(2)
    ]
    assert runs == ["0 ['scipy.sparse.linalg', 'yake']", "0 []"]


def test_an_edit_outside_the_theme_sample_is_placed_without_fitting_anything(
    seeds_site: Path, tmp_path: Path
) -> None:
    """The sample's model and the map's are plain arrays once fitted (``digest.lsa``), so a
    rebuild that only places an edited paper never imports what fits them (scipy's ARPACK,
    ``digest.lsa_fit``)."""
    import json
    import os
    import subprocess
    import sys

    from digest.themes import theme_sample

    papers = json.loads((seeds_site / "papers.json").read_text(encoding="utf-8"))["papers"]
    corpus = tmp_path / "papers.jsonl"
    lines = [
        {"id": f"p{n:03d}", "title": p["title"], "abstract": p["abstract"]}
        for n, p in enumerate(papers)
    ]
    corpus.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    script = (
        "import sys\n"
        "from digest import themes\n"
        "themes.THEME_SAMPLE = 40\n"
        "from digest.cli import main\n"
        f"code = main(['build', '--source', {str(corpus)!r}, '--out', {str(tmp_path / 'site')!r},"
        " '--quiet'])\n"
        "print(code, 'scipy.sparse.linalg' in sys.modules)\n"
    )
    env = {**os.environ, "DIGEST_CACHE_DIR": str(tmp_path / "cache")}

    def build_in_a_new_process() -> str:
        run = [sys.executable, "-c", script]
        return subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout

    assert build_in_a_new_process().split() == ["0", "True"]  # the models are fitted
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("digest.themes.THEME_SAMPLE", 40)
        sampled = set(theme_sample([line["id"] for line in lines]).tolist())
    outside = next(n for n in range(len(lines)) if n not in sampled)
    lines[outside]["abstract"] = "Otters revisit this. " + lines[outside]["abstract"]
    corpus.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    assert build_in_a_new_process().split() == ["0", "False"]
    page = (tmp_path / "site" / "papers" / f"p{outside:03d}.html").read_text(encoding="utf-8")
    assert "Otters revisit this." in page


def test_a_changed_json_lines_file_reparses_only_its_changed_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [
        '{"id": "a1", "title": "One", "abstract": "First abstract about otters."}',
        '{"id": "a2", "title": "Two", "abstract": "Second abstract about voles.", "date": "soon"}',
        '{"id": "a3", "title": "Three", "abstract": "Third abstract about moles."}',
    ]
    path = tmp_path / "papers.jsonl"
    path.write_text("\n".join(lines) + "\n")
    state = BuildState()
    with caplog.at_level(logging.WARNING, logger="digest"):
        first = state.read_file(path, "papers/papers.jsonl")
    warned_first = [r.getMessage() for r in caplog.records]
    assert len(first) == 3 and any("papers.jsonl:2" in m for m in warned_first)

    lines[2] = lines[2].replace("moles", "shrews")
    path.write_text("\n".join(lines) + "\n")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="digest"):
        second = state.read_file(path, "papers/papers.jsonl")
    assert second[0] is first[0]  # the unchanged line was not parsed again
    assert second[1] is not first[1]  # it gave a warning, so it is read again and warns again
    assert [r.getMessage() for r in caplog.records] == warned_first
    assert second[2].abstract == "Third abstract about shrews." and second[2] is not first[2]
    assert state.files_read == 2


def test_with_a_theme_sample_a_rebuild_gives_the_same_bytes_as_a_cold_build(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cached sample model, theme places and map vectors, with a sample smaller than the
    corpus (as above 3,000 papers): an edit, then the same edit undone."""
    from digest import themes

    monkeypatch.setattr(themes, "THEME_SAMPLE", 40)
    state = BuildState()
    # Its own cache: groupings made with the patched sample must not reach other tests.
    config = replace(corpus_config(corpus, tmp_path / "site"), cache_dir=tmp_path / "cache")
    build(config, state=state)
    original = (corpus / EDITED_SEED).read_text()
    for text in (original.replace("We study conditions", "Otters study conditions", 1), original):
        (corpus / EDITED_SEED).write_text(text)
        build(config, state=state)
        cold = corpus_config(corpus, tmp_path / f"cold-{len(text)}")
        built_as_cold(tmp_path / "site", replace(cold, cache_dir=tmp_path / f"cold-{len(text)}-c"))


class _Interrupt:
    """A progress callback that presses Ctrl-C at ``stage``'s first report."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.fired = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage == self.stage and not self.fired:
            self.fired = True
            raise KeyboardInterrupt


def _edit_two(corpus: Path) -> None:
    """Two new abstracts, so every stage has work (extraction included)."""
    for name in ("001_f226d2ab07393558.txt", EDITED_SEED):
        path = corpus / name
        path.write_text(path.read_text().replace(" the ", " the new ", 1))


@pytest.fixture(scope="module")
def before_and_after(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A site and cache built from the seeds, and a cold build of the edited seeds."""
    root = tmp_path_factory.mktemp("interrupt")
    shutil.copytree(REPO / "seeds", root / "papers")
    build(replace(corpus_config(root / "papers", root / "site"), cache_dir=root / "cache"))
    edited = root / "edited"
    shutil.copytree(REPO / "seeds", edited / "papers")
    _edit_two(edited / "papers")
    config = corpus_config(edited / "papers", edited / "site")
    build(replace(config, cache_dir=edited / "cache"))
    return root, edited / "site"


@pytest.mark.parametrize(
    "stage", ["keyphrases", "themes", "related", "check pages", "render", "search"]
)
def test_ctrl_c_at_any_stage_leaves_the_previous_site_and_a_valid_cache(
    before_and_after: tuple[Path, Path],
    tmp_path: Path,
    stage: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pages render in worker processes here, as on a large site: they must stop too."""
    import multiprocessing

    import digest.page_memo

    monkeypatch.setattr(digest.page_memo, "POOL_THRESHOLD", 0)
    built, reference = before_and_after
    for name in ("papers", "site", "cache"):
        shutil.copytree(built / name, tmp_path / name, copy_function=shutil.copy2)
    config = corpus_config(
        tmp_path / "papers", tmp_path / "site", cache_dir=tmp_path / "cache", workers=2
    )
    before = site_files(tmp_path / "site")
    _edit_two(tmp_path / "papers")
    interrupt = _Interrupt(stage)
    with pytest.raises(KeyboardInterrupt):
        build(config, progress=interrupt)
    assert interrupt.fired
    assert site_files(tmp_path / "site") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "papers", "site"]
    assert multiprocessing.active_children() == []

    build(config)
    assert site_files(tmp_path / "site") == site_files(reference)
