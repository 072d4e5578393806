"""Sharded search on a corpus big enough to be split: 2,000 synthetic papers in Chromium.

The seeds fit in a handful of term shards, so there a bug that loads every shard would pass
unseen. Here the index has dozens of shards, and the tests check what the design promises: a
query finds its paper while the browser fetches only the shards holding the query's terms, a
later query fetches only what it lacks, and odd query syntax never errors.

The corpus is made here from word lists with a fixed seed, so the test needs no outside data
and every run builds the same site. Two papers carry a made-up word nothing else contains.
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, urlsplit

import pytest

from digest.build import build
from digest.config import Config
from digest.search_terms import pipeline_term

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route

pytestmark = pytest.mark.browser

PAPERS = 2_000
SEED = 6
TARGET, TARGET_WORD = 1_234, "quokkalith"
OTHER, OTHER_WORD = 777, "zephyrine"
TERM_SHARD = re.compile(r"/search/terms-(\w+)\.js$")
DONE = "#search-results[aria-busy='false'] li"  # every result shown
MIN_SHARDS = 20  # below this the corpus would not exercise sharding

TOPICS = {
    "galaxies": ["galaxy", "halo", "redshift", "quasar", "nebula", "supernova", "pulsar"],
    "proteins": ["protein", "enzyme", "ligand", "peptide", "residue", "receptor", "antibody"],
    "climate": ["rainfall", "aerosol", "glacier", "monsoon", "drought", "ocean", "wildfire"],
    "robots": ["gripper", "manipulator", "actuator", "trajectory", "quadruped", "drone"],
    "language": ["parser", "translation", "dialogue", "summary", "tokenizer", "lexicon"],
    "vision": ["segmentation", "depth map", "point cloud", "pixel", "camera", "video frame"],
    "graphs": ["graph", "node", "edge", "community", "random walk", "spectral cut"],
    "markets": ["portfolio", "auction", "market maker", "volatility", "pricing", "equity"],
    "circuits": ["transistor", "amplifier", "oscillator", "chip", "antenna", "photodiode"],
    "epidemics": ["vaccine", "outbreak", "cohort", "pathogen", "contact tracing", "clinic"],
}
ADJECTIVES = [
    "robust", "sparse", "scalable", "adaptive", "hierarchical", "probabilistic", "efficient",
    "interpretable", "distributed", "multiscale", "nonlinear", "stochastic", "compact", "hybrid",
]  # fmt: skip
METHODS = [
    "estimator", "framework", "model", "solver", "pipeline", "benchmark", "simulator",
    "detector", "architecture", "algorithm", "sampler", "controller",
]  # fmt: skip
METRICS = ["accuracy", "recall", "latency", "error rate", "throughput", "calibration"]
SYLLABLES = ["ka", "lo", "mi", "ren", "tau", "vel", "dor", "sil", "bra", "nu", "tek", "ium"]
TEMPLATES = [
    "We study {a} {n1} for {n2} in {topic} data.",
    "Existing {m}s struggle with {a} {n1} when the {n2} is noisy.",
    "We propose {name}, a {a} {m} that couples {n1} statistics with {n2} structure.",
    "On {name2}, {name} improves {metric} by {pct} percent over a {a2} {m2}.",
    "We further analyse how the {n2} {m2} behaves under {a2} {n1} shifts.",
    "Code and the {n1} catalogue are released to support {topic} research.",
]


@dataclass
class Watch:
    """What a page did: requests in order, and anything a user would see in devtools."""

    page: Page
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def on_request(self, request: Request) -> None:
        self.requests.append(urlsplit(request.url).path)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console error: {message.text}")

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"uncaught error: {error}")

    def on_failed(self, request: Request) -> None:
        self.errors.append(f"failed request: {request.url} {request.failure}")

    def term_shards(self) -> list[str]:
        """The keys of the term shards fetched (``shard_numbers`` turns them into positions)."""
        return [m.group(1) for r in self.requests if (m := TERM_SHARD.search(r))]


# --- the corpus and its site ----------------------------------------------------------------


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()


def synthetic_paper(number: int, rng: random.Random) -> dict[str, Any]:
    """One abstract of five or six sentences about one topic, from the word lists."""
    topic = list(TOPICS)[number % len(TOPICS)]
    nouns = TOPICS[topic]

    def words() -> dict[str, str]:
        return {
            "topic": topic,
            "a": rng.choice(ADJECTIVES),
            "a2": rng.choice(ADJECTIVES),
            "n1": rng.choice(nouns),
            "n2": rng.choice(nouns),
            "m": rng.choice(METHODS),
            "m2": rng.choice(METHODS),
            "metric": rng.choice(METRICS),
            "pct": str(rng.randint(2, 40)),
            "name": _name(rng),
            "name2": _name(rng),
        }

    sentences = [t.format(**words()) for t in rng.sample(TEMPLATES, rng.randint(5, 6))]
    first = words()
    title = f"{first['a'].capitalize()} {first['n1']} {first['m']} for {first['n2']} analysis"
    return {
        "id": f"synth-{number:05d}",
        "title": title,
        "abstract": " ".join(sentences),
        "date": f"2024-{number % 12 + 1:02d}-{number % 28 + 1:02d}",
    }


@cache
def synthetic_corpus() -> list[dict[str, Any]]:
    """PAPERS papers; TARGET and OTHER each carry one made-up word, in title and abstract."""
    rng = random.Random(SEED)
    papers = [synthetic_paper(n, rng) for n in range(PAPERS)]
    for number, word in ((TARGET, TARGET_WORD), (OTHER, OTHER_WORD)):
        paper = papers[number]
        paper["title"] = f"{word.capitalize()} {paper['title'].lower()}"
        paper["abstract"] += f" The {word} effect explains the gains."
    return papers


@pytest.fixture(scope="module")
def scale_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("scale-src") / "papers.jsonl"
    rows = [json.dumps(p) for p in synthetic_corpus()]
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("scale") / "site"
    report = build(Config(sources=(src,), out=out))
    assert report.papers == PAPERS, report.summary()
    return out


@pytest.fixture(scope="module")
def manifest(scale_site: Path) -> dict[str, Any]:
    text = (scale_site / "search" / "manifest.js").read_text(encoding="utf-8").strip()
    prefix, suffix = "window.DIGEST_SEARCH=", ";"
    assert text.startswith(prefix) and text.endswith(suffix), text[:80]
    loaded: dict[str, Any] = json.loads(text[len(prefix) : -len(suffix)])
    assert len(loaded["shards"]) >= MIN_SHARDS, f"only {len(loaded['shards'])} term shards"
    return loaded


def shard_numbers(manifest: dict[str, Any], keys: list[str]) -> list[int]:
    position = {shard[3]: n for n, shard in enumerate(manifest["shards"])}
    return [position[key] for key in keys]


def shards_for(manifest: dict[str, Any], *words: str) -> set[int]:
    """static/search.js's rule: the shards whose [first, last] range holds a word's stem."""
    stems = [pipeline_term(w.lower()) for w in words]
    return {
        n
        for n, (first, last, _, _) in enumerate(manifest["shards"])
        for stem in stems
        if stem and first <= stem <= last
    }


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows failures, not access logs."""


@pytest.fixture(scope="module")
def base_url(scale_site: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=scale_site))
    thread = threading.Thread(target=server.serve_forever, name="scale-site", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def watch(chromium: Browser) -> Iterator[Watch]:
    """A fresh context (empty browser cache), so every shard fetched is a request we see."""
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        watched = Watch(page)
        page.on("request", watched.on_request)
        page.on("console", watched.on_console)
        page.on("pageerror", watched.on_page_error)
        page.on("requestfailed", watched.on_failed)
        yield watched
    finally:
        context.close()


# --- helpers ----------------------------------------------------------------------------------


def _titles(page: Page) -> list[str]:
    titles: list[str] = page.eval_on_selector_all(
        "#search-results li h3 a", "links => links.map(a => a.textContent)"
    )
    return titles


def _status_for(page: Page, query: str) -> str:
    """The status line once it reports on ``query`` (results or none), not "Searching…"."""
    page.wait_for_function(
        "q => document.getElementById('search-status').textContent.includes(q) &&"
        " document.getElementById('search-results').getAttribute('aria-busy') === 'false'",
        arg=query,
    )
    return page.inner_text("#search-status").strip()


def _title_of(number: int) -> str:
    return str(synthetic_corpus()[number]["title"])


# --- tests ------------------------------------------------------------------------------------


def test_distinctive_word_loads_only_its_shard(
    watch: Watch, base_url: str, manifest: dict[str, Any]
) -> None:
    page = watch.page
    page.goto(f"{base_url}search.html?q={TARGET_WORD}")
    page.wait_for_selector(DONE)
    assert _title_of(TARGET) in _titles(page)[:3], _titles(page)[:5]
    fetched = shard_numbers(manifest, watch.term_shards())
    total = len(manifest["shards"])
    assert set(fetched) == shards_for(manifest, TARGET_WORD), fetched
    assert len(fetched) <= total // 10, f"{len(fetched)} of {total} term shards fetched"
    assert not watch.errors, "\n".join(watch.errors)


def test_second_query_reuses_loaded_shards(
    watch: Watch, base_url: str, manifest: dict[str, Any]
) -> None:
    page = watch.page
    page.goto(f"{base_url}search.html?q={TARGET_WORD}")
    page.wait_for_selector(DONE)
    first = set(shard_numbers(manifest, watch.term_shards()))
    query = f"{TARGET_WORD} {OTHER_WORD}"
    page.fill("#search-query", query)
    assert "2 results" in _status_for(page, query)
    titles = _titles(page)
    assert {_title_of(TARGET), _title_of(OTHER)} <= set(titles[:3]), titles[:5]
    fetched = shard_numbers(manifest, watch.term_shards())
    later = fetched[len(first) :]
    assert len(fetched) == len(set(fetched)), f"a term shard was fetched twice: {fetched}"
    assert set(later) == shards_for(manifest, OTHER_WORD) - first, (first, later)
    index_files = [r for r in watch.requests if "/search/" in r]
    assert len(index_files) == len(set(index_files)), f"fetched twice: {index_files}"
    page.fill("#search-query", TARGET_WORD.capitalize())
    assert "1 result" in _status_for(page, TARGET_WORD.capitalize())
    assert shard_numbers(manifest, watch.term_shards()) == fetched, "a query fetched more"
    assert not watch.errors, "\n".join(watch.errors)


def test_query_syntax_never_errors_when_sharded(watch: Watch, base_url: str) -> None:
    query = "covid:19"
    page = watch.page
    page.goto(f"{base_url}search.html?q={quote_plus(query)}")
    status = _status_for(page, query)
    assert "failed" not in status.lower() and "unavailable" not in status.lower(), status
    assert page.input_value("#search-query") == query
    assert not watch.errors, "\n".join(watch.errors)


def test_the_first_results_show_before_the_rest_of_their_documents_load(
    watch: Watch, base_url: str
) -> None:
    """Document shards are held back by the test: the first ten results' shards are asked for
    first, and those results show (in order, marked busy) while the others still load."""
    page = watch.page
    held: list[Route] = []
    released: list[bool] = []
    page.route(
        "**/search/docs-*.js",
        lambda route: route.continue_() if released else held.append(route),
    )
    page.goto(f"{base_url}search.html?q=galaxy", wait_until="domcontentloaded")
    first_batch = _settled(page, held)
    assert 1 <= len(first_batch) <= 10, len(first_batch)
    for route in first_batch:
        route.continue_()
    page.wait_for_selector("#search-results[aria-busy='true'] li")
    early = _titles(page)
    later_batch = _settled(page, held, after=len(first_batch))
    assert later_batch, "every document was in the first shards: the test proves nothing"
    assert 10 <= len(early) < 50, len(early)
    assert _titles(page) == early, "results changed while their documents were held"
    released.append(True)
    for route in later_batch:
        route.continue_()
    page.wait_for_selector(DONE)
    final = _titles(page)
    assert len(final) == 50 and final[: len(early)] == early, (early, final)
    assert not watch.errors, "\n".join(watch.errors)


def _settled(page: Page, held: list[Route], after: int = 0) -> list[Route]:
    """The requests held since ``after``, once no new one has come for 300 ms."""
    count = -1
    while count != len(held):
        count = len(held)
        page.wait_for_timeout(300)
    return held[after:]
