"""The debrief's figures from plain values: no database."""

from __future__ import annotations

import pytest

from services.evaluate import scoring

SKILL, COMM, TEAM = 1, 2, 3
WEIGHTS = {SKILL: 2.0, COMM: 1.0, TEAM: 1.0}


def test_a_weighted_score_weighs_each_rated_criterion() -> None:
    assert scoring.weighted_score({SKILL: 5, COMM: 3, TEAM: 3}, WEIGHTS) == pytest.approx(4.0)


def test_a_card_with_no_ratings_has_no_weighted_score() -> None:
    assert scoring.weighted_score({}, WEIGHTS) is None


def test_an_unrated_criterion_neither_counts_as_zero_nor_weighs_in() -> None:
    assert scoring.weighted_score({SKILL: 4, COMM: 1}, WEIGHTS) == pytest.approx(3.0)


def test_a_rating_of_a_criterion_no_longer_asked_is_left_out() -> None:
    assert scoring.weighted_score({SKILL: 4, 99: 1}, WEIGHTS) == pytest.approx(4.0)


def test_a_round_without_criteria_gives_no_weighted_score() -> None:
    assert scoring.weighted_score({SKILL: 4}, {}) is None


def test_the_round_average_is_the_mean_of_the_cards_to_two_decimals() -> None:
    assert scoring.round_average([4.0, 3.0, 3.0]) == 3.33


def test_the_round_average_skips_cards_without_a_score_and_is_none_without_any() -> None:
    assert scoring.round_average([None, 3.5]) == 3.5
    assert scoring.round_average([None]) is None
    assert scoring.round_average([]) is None


def test_the_bar_is_met_from_its_value_up_and_unknown_without_an_average() -> None:
    assert scoring.meets_bar(3.5, 3.5) is True
    assert scoring.meets_bar(3.49, 3.5) is False
    assert scoring.meets_bar(None, 3.5) is None


def test_the_spread_is_the_highest_rating_minus_the_lowest() -> None:
    cards = [{SKILL: 5, COMM: 3}, {SKILL: 2, COMM: 3}, {SKILL: 4}]
    assert scoring.spread(cards, [SKILL, COMM, TEAM]) == {SKILL: 3, COMM: 0}


def test_one_rating_has_no_spread_and_no_cards_none_at_all() -> None:
    assert scoring.spread([{SKILL: 5}], [SKILL]) == {}
    assert scoring.spread([], [SKILL, COMM]) == {}


def test_equal_ratings_spread_zero_and_raise_no_warning() -> None:
    spreads = scoring.spread([{SKILL: 3}, {SKILL: 3}, {SKILL: 3}], [SKILL])
    assert spreads == {SKILL: 0}
    assert scoring.disagreement(["yes", "yes", "strong_yes"], spreads) == []


def test_yes_against_no_is_a_split_recommendation() -> None:
    assert scoring.disagreement(["strong_yes", "no"], {}) == ["debrief.split_recommendation"]


def test_a_tie_of_two_against_two_is_a_split_recommendation() -> None:
    assert scoring.disagreement(["yes", "yes", "no", "strong_no"], {}) == ["debrief.split_recommendation"]


def test_all_against_is_no_split_and_a_missing_recommendation_is_no_vote() -> None:
    assert scoring.disagreement(["no", "strong_no", None], {}) == []
    assert scoring.disagreement([], {}) == []


def test_ratings_three_apart_are_flagged_two_apart_are_not() -> None:
    assert scoring.disagreement(["yes"], {SKILL: scoring.SPREAD_ALERT}) == ["debrief.criterion_spread"]
    assert scoring.disagreement(["yes"], {SKILL: scoring.SPREAD_ALERT - 1}) == []


def test_both_kinds_of_disagreement_are_reported_together() -> None:
    assert scoring.disagreement(["yes", "no"], {COMM: 4}) == [
        "debrief.split_recommendation",
        "debrief.criterion_spread",
    ]
