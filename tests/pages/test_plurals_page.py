"""The candidates page counts one result as "1 candidate"."""

from __future__ import annotations

from services.platform.i18n import t
from tests.pages.conftest import ROLE_EMAILS, demo_user


def test_the_candidates_page_says_1_candidate_for_one_result(demo_db, open_app) -> None:
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "en")).run()
    name = at.dataframe[0].value[t("field.name", "en")].iloc[0]
    at.text_input(key="cand_q").input(name).run()
    assert len(at.dataframe[0].value) == 1
    assert at.caption[0].value == "1 candidate · page 1 of 1"
