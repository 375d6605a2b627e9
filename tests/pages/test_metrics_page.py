"""The Metrics screen (数据分析) as each role reads it, in both languages: the filters, every figure as a chart with
its table and CSV, a hiring manager's figures of their own jobs only, and an interviewer refused."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from services.metrics import cache
from tests.pages.conftest import ROLE_EMAILS, demo_user
from tests.pages.support import all_text, assert_no_exception, nav_pages, tr, walk
from ui.metrics_view import K

PAGE = "pages/metrics.py"
TABS = ("funnel", "speed", "offers", "sources", "experience", "calibration", "quality", "fairness")
# funnel, losses; feedback, weekly feedback, turnaround, stages, time to offer/hire; offers, declines; sources;
# experience by job and by stage; calibration; quality bands, outcomes, by round, by interviewer; selection
FIGURES = 18
PERSONAL = {"calibration": 1, "quality_person": 1}  # per-person figures: not for a hiring manager


@pytest.fixture(autouse=True)
def _no_cached_figures():
    cache.clear()
    yield
    cache.clear()


def _open(open_app, role: str, language: str):
    at = open_app(demo_user(ROLE_EMAILS[role], language))
    return at.switch_page(PAGE).run()


def _charts(at) -> list:
    return [e for e in walk(at._tree) if getattr(e, "type", "") in ("arrow_vega_lite_chart", "vega_lite_chart")]


def _downloads(at) -> list:
    return at.get("download_button")


def _open_tab(at, name: str, language: str):
    """Open a tab as a click does: the tabs are tracked, and only the open one's figures are computed."""
    at.session_state["metrics_tabs"] = tr(f"metrics.tab.{name}", language)
    return at.run()


FIGURES_BY_TAB = {
    "funnel": 2,  # funnel, losses
    "speed": 5,  # feedback, weekly feedback, turnaround, stages, time to offer/hire
    "offers": 2,  # offers by status, decline reasons
    "sources": 1,
    "experience": 2,  # by job, by stage
    "calibration": 1,
    "quality": 4,  # bands, outcomes, by round, by interviewer
    "fairness": 1,
}


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("role", ["admin", "recruiter", "hiring_manager"])
def test_every_role_that_reads_metrics_sees_each_figure_with_its_table_and_csv(demo_db, open_app, role, language):
    at = _open(open_app, role, language)
    assert_no_exception(at)
    assert PAGE in nav_pages(at)
    assert [t.value for t in at.title] == [tr("nav.metrics", language)]
    tabs = [tab for tab in TABS if role != "hiring_manager" or tab != "calibration"]
    assert [t.label for t in at.tabs] == [tr(f"metrics.tab.{tab}", language) for tab in tabs]
    other = "en" if language == "zh" else "zh"
    drawn = 0
    for tab in tabs:
        at = _open_tab(at, tab, language)
        assert_no_exception(at)
        figures = FIGURES_BY_TAB[tab] - (
            PERSONAL.get("quality_person", 0) if tab == "quality" and role == "hiring_manager" else 0
        )
        assert len(at.expander) == figures, tab  # only the open tab's figures
        assert all(e.label == tr("metrics.table_view", language) for e in at.expander)
        assert len(at.dataframe) == figures
        csvs = [b for b in _downloads(at) if b.proto.label == tr("metrics.download_csv", language)]
        assert len(csvs) == figures
        drawn += len(_charts(at))
        text = all_text(at)
        for key in ("metrics.funnel.closed", "metrics.exit.rejected", "metrics.bucket.within_24h"):
            assert tr(key, other) not in text or tr(key, other) == tr(key, language)
    assert drawn >= 10, drawn  # the demo's half year has data to draw in most figures


def test_only_the_open_tabs_figures_are_computed(demo_db, open_app, monkeypatch):
    asked: list[str] = []
    original = cache.metric

    def counting(**kwargs):
        asked.append(cache.metric_name(kwargs["fn"]))
        return original(**kwargs)

    monkeypatch.setattr(cache, "metric", counting)
    at = _open(open_app, "admin", "en")
    assert asked == ["funnel.funnel", "funnel.losses"]
    asked.clear()
    _open_tab(at, "offers", "en")
    assert asked == ["offer_metrics.offer_outcomes", "offer_metrics.decline_reasons"]


def test_an_interviewer_is_told_metrics_are_not_for_their_role(demo_db, open_app):
    at = _open(open_app, "interviewer", "en")
    assert_no_exception(at)
    assert PAGE not in nav_pages(at)
    assert [t.value for t in at.title] == [tr("noaccess.role_title", "en")]
    assert not at.dataframe and not _charts(at)


def test_a_period_ending_before_it_begins_is_refused_under_the_period(demo_db, open_app):
    at = _open(open_app, "admin", "en")
    at.date_input(key=K + "period").set_value((date(2026, 3, 31), date(2026, 3, 1))).run()
    assert_no_exception(at)
    assert [e.value for e in at.error] == [tr("err.end_before_start", "en")]
    assert not at.tabs
    # A half-picked range (the first click of the two) waits for its end.
    at.date_input(key=K + "period").set_value((date(2026, 3, 1),)).run()
    assert_no_exception(at)
    assert tr("metrics.filter.pick_end", "en") in [i.value for i in at.info]
    assert not at.tabs  # nothing computed for half a period


def test_an_empty_period_says_there_is_no_data_and_still_offers_the_zeros(demo_db, open_app):
    at = _open(open_app, "admin", "zh")
    at.date_input(key=K + "period").set_value((date(2001, 1, 1), date(2001, 1, 31))).run()
    assert_no_exception(at)
    assert not _charts(at)
    assert [i.value for i in at.info].count(tr("metrics.no_data", "zh")) == FIGURES_BY_TAB["funnel"]
    at = _open_tab(at, "speed", "zh")
    assert not _charts(at)
    assert [i.value for i in at.info].count(tr("metrics.no_data", "zh")) == FIGURES_BY_TAB["speed"]


def test_switching_to_the_activity_view_names_it(demo_db, open_app):
    at = _open(open_app, "recruiter", "en")
    at.radio(key=K + "basis").set_value("event").run()
    assert_no_exception(at)
    assert tr("metrics.funnel.explain_activity", "en") in [c.value for c in at.caption]


def test_the_csv_neutralises_formulas_and_reads_in_excel(demo_db, open_app):
    import pandas as pd

    from services.metrics.charts import Figure
    from ui.metrics_view import csv_bytes

    figure = Figure("x", "x", None, pd.DataFrame({"面试官": ['=HYPERLINK("http://evil")', "王芳"], "n": [-1, 2]}))
    data = csv_bytes(figure)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["面试官", "n"], ['\'=HYPERLINK("http://evil")', "-1"], ["王芳", "2"]]
