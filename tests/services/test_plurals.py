"""Counted texts read "1 candidate" and "2 candidates" in English; Chinese has one form."""

from __future__ import annotations

import pytest

from services.i18n import PLURAL_COUNT, TEXTS, t


def test_one_candidate_is_singular_and_two_are_plural() -> None:
    assert t("cand.results", "en", total=1, page=1, pages=1) == "1 candidate · page 1 of 1"
    assert t("cand.results", "en", total=2, page=1, pages=1) == "2 candidates · page 1 of 1"
    assert t("cand.results", "en", total=0, page=1, pages=1) == "0 candidates · page 1 of 1"
    assert t("cand.results", "en", total="500+", page=1, pages=20) == "500+ candidates · page 1 of 20"
    assert t("cand.results", "zh", total=1, page=1, pages=1) == "共 1 位候选人 · 第 1/1 页"


@pytest.mark.parametrize(("key", "params", "singular"), [
    ("import.done", {"count": 1}, "1 candidate imported."),
    ("import.failed", {"rows": 1}, "1 row has a problem; nothing was imported. Fix it and upload again."),
    ("iv.imported", {"count": 1}, "1 interview imported."),
    ("err.sign_in_locked", {"minutes": 1}, "Too many attempts; try again in 1 minute."),
    ("task.stale_application", {"name": "A", "job": "B", "stage": "C", "days": 1},
     "A · B: 1 day in “C”; contact the candidate or decide."),
])
def test_each_counted_text_has_a_singular_in_english(key, params, singular) -> None:
    assert t(key, "en", **params) == singular
    assert t(key, "en", **{**params, PLURAL_COUNT[key]: 2}) != singular
    assert t(key, "zh", **params) == t(key, "zh", **{**params, PLURAL_COUNT[key]: 1})


def test_every_singular_has_its_plural_and_the_same_placeholders() -> None:
    singulars = {k.removesuffix(".one") for k in TEXTS if k.endswith(".one")}
    assert singulars == set(PLURAL_COUNT)
    for key, count in PLURAL_COUNT.items():
        assert f"{{{count}}}" in TEXTS[key][1] and f"{{{count}}}" in TEXTS[f"{key}.one"][1]
        assert TEXTS[key][0] == TEXTS[f"{key}.one"][0]  # Chinese: one form

