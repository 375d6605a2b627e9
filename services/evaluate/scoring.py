"""How a round's scorecards add up in the debrief: each card's weighted score, the round's average against its
bar, the spread of each criterion's ratings and the disagreement worth a warning.

Plain values in, plain values out: no database, so every edge case is a unit test (tests/services/test_scoring.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from statistics import fmean

from models.evaluation import POSITIVE, Recommendation

# Raters this many points apart on one criterion disagree about it (on the 1-5 scale: a 2 against a 5).
SPREAD_ALERT = 3


def weighted_score(scores: Mapping[int, int], weights: Mapping[int, float]) -> float | None:
    """One scorecard's weighted average over the criteria of `weights` (criterion id -> weight) it rated.

    A criterion left unrated (a draft, a criterion added after the card was submitted) neither counts as a zero
    nor weighs in; ratings of criteria not in `weights` (retired ones) are left out. None when nothing is rated."""
    rated = [(scores[cid], weight) for cid, weight in weights.items() if cid in scores]
    total = sum(weight for _, weight in rated)
    if not rated or total <= 0:
        return None
    return sum(score * weight for score, weight in rated) / total


def round_average(weighted: Iterable[float | None]) -> float | None:
    """The plain mean of a round's weighted scores, to two decimals (each card counts once, whoever wrote it);
    None when no card has a score."""
    values = [w for w in weighted if w is not None]
    return round(fmean(values), 2) if values else None


def meets_bar(average: float | None, bar: float) -> bool | None:
    """Whether the round's average reaches its bar; None while there is no average."""
    return None if average is None else average >= bar


def spread(scores: Iterable[Mapping[int, int]], criterion_ids: Iterable[int]) -> dict[int, int]:
    """For each criterion rated on at least two of the cards' `scores`: the highest rating minus the lowest.
    One rating has no spread (the criterion is left out, not shown as 0)."""
    cards = list(scores)
    out: dict[int, int] = {}
    for cid in criterion_ids:
        given = [card[cid] for card in cards if cid in card]
        if len(given) >= 2:
            out[cid] = max(given) - min(given)
    return out


def disagreement(recommendations: Iterable[str | None], spreads: Mapping[int, int]) -> list[str]:
    """Why the panel disagrees (message keys): some recommend hiring and some do not, and/or some criterion's
    ratings lie SPREAD_ALERT or more apart."""
    said = {Recommendation(r) for r in recommendations if r}
    found = []
    if said & POSITIVE and said - POSITIVE:
        found.append("debrief.split_recommendation")
    if any(s >= SPREAD_ALERT for s in spreads.values()):
        found.append("debrief.criterion_spread")
    return found
