"""Small charts computed at build time: papers per month, and a theme's keyphrases by count.

Templates only loop over what is computed here (bar positions, sizes, labels), so the charts
are plain SVG and HTML that read without JavaScript and cost nothing to show.

Timeline rule: a paper counts in a month only when its year and month are known. Papers
without a date or without a year ("May 13" in a Daily Papers dump) are "undated"; a paper with
a year but no month is counted apart too. No date is ever guessed, so the bars add up to
exactly the papers dated to the month.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from digest.model import MONTH_NAMES, Paper, Theme

TIMELINE_WIDTH = 1000
TIMELINE_HEIGHT = 200
AXIS_ROOM = 44  # below the bars, for year labels sized to stay legible on a phone
TOP_ROOM = 8
MAX_BAR = 40
MIN_TICK_SPACING = 110  # viewBox units between year labels (4 digits at 34 units each)
YEAR_STEPS = (1, 2, 5, 10, 20, 50, 100)
MONTH_STEPS = (1, 2, 3, 6)
TOP_KEYPHRASES = 10

Month = tuple[int, int]  # (year, month)


@dataclass(frozen=True)
class MonthCounts:
    """How many papers fall in each month, and how many could not be placed in one."""

    months: tuple[tuple[Month, int], ...]  # sorted, months with papers only
    undated: int  # no date, or no year
    year_only: int  # a year but no month

    @property
    def dated(self) -> int:
        return sum(count for _, count in self.months)


@dataclass(frozen=True)
class TimelineBar:
    x: int
    y: int
    width: int
    height: int
    count: int
    label: str  # "Mar 2021: 2 papers"


@dataclass(frozen=True)
class TimelineTick:
    x: int
    text: str


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    baseline: int
    tick_y: int  # baseline of the year labels
    bars: tuple[TimelineBar, ...]
    ticks: tuple[TimelineTick, ...]
    counts: MonthCounts
    first: str  # "Nov 2016"
    last: str
    peak: str  # "Mar 2021 (2 papers)"


@dataclass(frozen=True)
class KeyphraseBar:
    text: str
    count: int
    percent: int  # of the largest count, for the bar's width


def count_months(papers: Iterable[Paper]) -> MonthCounts:
    per_month: Counter[Month] = Counter()
    undated = year_only = 0
    for paper in papers:
        date = paper.date
        if date is None or date.year is None:
            undated += 1
        elif not date.month:
            year_only += 1
        else:
            per_month[(date.year, date.month)] += 1
    return MonthCounts(tuple(sorted(per_month.items())), undated, year_only)


def month_span(counts: MonthCounts) -> tuple[Month, Month] | None:
    if not counts.months:
        return None
    return counts.months[0][0], counts.months[-1][0]


def timeline(counts: MonthCounts, span: tuple[Month, Month] | None = None) -> Timeline:
    """Bars on a month axis; ``span`` (default: the papers' own) lets every theme's timeline
    share the site's axis, so they line up. No bars when no paper is dated to the month."""
    span = span or month_span(counts)
    baseline = TIMELINE_HEIGHT - AXIS_ROOM
    if span is None or not counts.months:
        return Timeline(TIMELINE_WIDTH, TIMELINE_HEIGHT, baseline, 0, (), (), counts, "", "", "")
    first, last = span
    pitch = TIMELINE_WIDTH / (_index(last) - _index(first) + 1)
    width = max(1, min(MAX_BAR, int(pitch * 0.8)))
    tallest = max(count for _, count in counts.months)
    bars = tuple(
        _bar(month, count, (_index(month) - _index(first)) * pitch, pitch, width, tallest, baseline)
        for month, count in counts.months
    )
    peak_month, peak_count = max(counts.months, key=lambda item: (item[1], item[0]))
    return Timeline(
        width=TIMELINE_WIDTH,
        height=TIMELINE_HEIGHT,
        baseline=baseline,
        tick_y=TIMELINE_HEIGHT - 6,
        bars=bars,
        ticks=_ticks(first, last, pitch),
        counts=counts,
        first=_month_name(first),
        last=_month_name(last),
        peak=f"{_month_name(peak_month)} ({_papers(peak_count)})",
    )


def _bar(
    month: Month, count: int, left: float, pitch: float, width: int, tallest: int, baseline: int
) -> TimelineBar:
    height = max(2, round(count / tallest * (baseline - TOP_ROOM)))
    return TimelineBar(
        x=round(left + (pitch - width) / 2),
        y=baseline - height,
        width=width,
        height=height,
        count=count,
        label=f"{_month_name(month)}: {_papers(count)}",
    )


def _ticks(first: Month, last: Month, pitch: float) -> tuple[TimelineTick, ...]:
    """Axis labels that never touch, even in the larger text used on narrow screens: months
    ("Mar", with the year at January) when a few years or less are shown, else years."""
    month_step = next((s for s in MONTH_STEPS if s * pitch >= MIN_TICK_SPACING), None)
    if month_step is not None:
        months = [_month_at(first, i) for i in range(_index(last) - _index(first) + 1)]
        chosen = [
            (i, _short_label(month, i == 0))
            for i, month in enumerate(months)
            if (month[1] - 1) % month_step == 0 or i == 0
        ]
    else:
        step = next((s for s in YEAR_STEPS if s * 12 * pitch >= MIN_TICK_SPACING), YEAR_STEPS[-1])
        chosen = [
            (_index(max((year, 1), first)) - _index(first), str(year))
            for year in range(first[0], last[0] + 1)
            if year % step == 0
        ]
    half = MIN_TICK_SPACING / 2
    ticks: list[TimelineTick] = []
    for offset, text in chosen:
        centre = round(min(max((offset + 0.5) * pitch, half), TIMELINE_WIDTH - half))
        if not ticks or centre - ticks[-1].x >= MIN_TICK_SPACING:
            ticks.append(TimelineTick(centre, text))
    return tuple(ticks)


def _month_at(first: Month, offset: int) -> Month:
    index = _index(first) + offset
    return (index // 12, index % 12 + 1)


def _short_label(month: Month, first: bool) -> str:
    """ "Mar"; January (and the first month, when the year would otherwise be missing) shows
    the year instead, so the axis always says which year it is in."""
    return str(month[0]) if month[1] == 1 or first else MONTH_NAMES[month[1] - 1][:3]


def _index(month: Month) -> int:
    return month[0] * 12 + month[1] - 1


def _month_name(month: Month) -> str:
    return f"{MONTH_NAMES[month[1] - 1][:3]} {month[0]}"


def _papers(count: int) -> str:
    return f"{count} paper{'s' if count != 1 else ''}"


def keyphrase_bars(
    theme: Theme, members: Sequence[Paper], top: int = TOP_KEYPHRASES
) -> tuple[KeyphraseBar, ...]:
    """The keyphrases most papers of the theme carry, with those counts; ties keep the
    theme's own keyphrase ranking, then alphabetical order."""
    counts = Counter(k for paper in members for k in dict.fromkeys(paper.keyphrases))
    rank = {k: i for i, k in enumerate(theme.keyphrases)}
    # Only keyphrases as frequent as the top-th can be chosen: a theme of 10,000 papers
    # carries ~2,500 others, and ranking them all took 0.1 s per build.
    lowest = min(heapq.nlargest(top, counts.values()), default=0)
    contenders = [k for k, count in counts.items() if count >= lowest]
    ranked = sorted(contenders, key=lambda k: (-counts[k], rank.get(k, len(rank)), k.lower(), k))
    chosen = ranked[:top]
    if not chosen:
        return ()
    tallest = counts[chosen[0]]
    return tuple(KeyphraseBar(k, counts[k], round(100 * counts[k] / tallest)) for k in chosen)


@dataclass(frozen=True)
class ThemeCharts:
    """What a theme page draws: its timeline and its keyphrase bars."""

    timeline: Timeline
    keyphrases: tuple[KeyphraseBar, ...]
