"""Page records in their stored form: what is saved loads back as it was, and saving after an
edit re-encodes only the records that changed."""

from __future__ import annotations

import hashlib
import itertools
import pickle

from digest.page_maker import PageRecord
from digest.page_memo import PageMemo


def _record(n: int, deps: int = 30) -> PageRecord:
    shared = [("keyphrase_by_text", "item", f"phrase {(n + d) % 500}") for d in range(deps)]
    digest = hashlib.sha256(str(n).encode()).hexdigest()
    return PageRecord((("paper_count", "all", ""), *shared), digest, digest[::-1])


def _reloaded(memo: PageMemo) -> PageMemo:
    again = PageMemo()
    again.load(pickle.loads(pickle.dumps(memo.stored())))
    return again


def test_records_saved_after_edits_load_back_as_they_were() -> None:
    memo = PageMemo(records={f"papers/{n}.html": _record(n) for n in range(200)})
    memo = _reloaded(memo)
    for round_ in range(50):  # each edit brings dependencies no page had
        memo.records[f"papers/{round_}.html"] = _record(10_000 + round_, deps=40)
        expected = dict(memo.records)
        memo = _reloaded(memo)
        assert memo.records == expected


def test_saving_after_an_edit_keeps_the_other_records_bytes() -> None:
    memo = _reloaded(PageMemo(records={f"papers/{n}.html": _record(n) for n in range(200)}))
    before = memo.stored()
    memo.records["papers/7.html"] = _record(7_777)
    after = memo.stored()
    changed = [p for p in after.pages if after.pages[p] is not before.pages[p]]
    assert changed == ["papers/7.html"]
    assert after.deps[: len(before.deps)] == before.deps


def test_the_dependency_table_is_renumbered_once_it_has_doubled() -> None:
    """Each edit leaves 30 numbers no page uses; the table is renumbered before it holds more
    than twice the dependencies in use (plus the edit's own)."""
    memo = _reloaded(PageMemo(records={f"papers/{n}.html": _record(n) for n in range(50)}))
    sizes = [len(memo.stored().deps)]
    for round_ in range(200):
        memo.records["papers/0.html"] = PageRecord(
            tuple(("keyphrase_by_text", "item", f"new {round_} {d}") for d in range(30)), "ab", "cd"
        )
        memo = _reloaded(memo)
        used = {dep for record in memo.records.values() for dep in record.deps}
        sizes.append(len(memo.stored().deps))
        assert len(used) <= sizes[-1] <= 2 * (len(used) + 30) + 30
    assert sum(1 for a, b in itertools.pairwise(sizes) if b < a) >= 3
