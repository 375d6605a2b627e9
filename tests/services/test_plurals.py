"""Counted texts read "1 candidate" and "2 candidates" in English; Chinese has one form."""

from __future__ import annotations

import pytest

from services.platform.i18n import read_catalog, t, tn


def test_one_candidate_is_singular_and_two_are_plural() -> None:
    assert tn("cand.results", 1, "en", total=1, page=1, pages=1) == "1 candidate · page 1 of 1"
    assert tn("cand.results", 2, "en", total=2, page=1, pages=1) == "2 candidates · page 1 of 1"
    assert tn("cand.results", 0, "en", total=0, page=1, pages=1) == "0 candidates · page 1 of 1"
    assert tn("cand.results", 501, "en", total="500+", page=1, pages=20) == "500+ candidates · page 1 of 20"
    assert tn("cand.results", 1, "zh", total=1, page=1, pages=1) == "共 1 位候选人 · 第 1/1 页"


@pytest.mark.parametrize(
    ("key", "params", "count", "singular"),
    [
        ("import.done", {"count": 1}, "count", "1 candidate imported."),
        ("import.failed", {"rows": 1}, "rows", "1 row has a problem; nothing was imported. Fix it and upload again."),
        ("iv.imported", {"count": 1}, "count", "1 interview imported."),
        ("err.sign_in_locked", {"minutes": 1}, "minutes", "Too many attempts; try again in 1 minute."),
        (
            "task.stale_application",
            {"name": "A", "job": "B", "stage": "C", "days": 1},
            "days",
            "A · B: 1 day in “C”; contact the candidate or decide.",
        ),
        (
            "err.schedule_conflict",
            {"count": 1},
            "count",
            "Double booking: 1 interview overlaps this time (same interviewer or candidate).",
        ),
        ("err.import_cells", {"rows": 1}, "rows", "1 row has cells that cannot be read; nothing was imported."),
        (
            "db.hidden_not_on_panel",
            {"count": 1},
            "count",
            "1 interview of this round is not yours, so its scorecards are not shown.",
        ),
    ],
)
def test_each_counted_text_has_a_singular_in_english(key, params, count, singular) -> None:
    assert tn(key, 1, "en", **params) == singular
    assert tn(key, 2, "en", **{**params, count: 2}) != singular.replace("1", "2")
    assert tn(key, 2, "zh", **params) == tn(key, 1, "zh", **params)  # Chinese: one form


def test_every_counted_text_has_one_chinese_and_two_english_forms() -> None:
    zh, en = read_catalog("zh"), read_catalog("en")
    counted = [m.id[0] for m in zh if m.id and not isinstance(m.id, str)]
    assert len(counted) >= 10
    for key in counted:
        assert len(zh[key].string) == 1 and len(en[key].string) == 2


def test_a_counted_text_looked_up_without_a_count_reads_as_one() -> None:
    # t() on a counted text is a slip the missing-text test catches; it still shows a sentence, not the key.
    assert t("import.done", "en", count=1) == "1 candidate imported."
