"""Each metric's figure: a chart titled and labelled in the reader's language, the same numbers in its table, no
chart (the page says "no data") when there is nothing to draw, and a PNG a manager can paste into a slide."""

from __future__ import annotations

from datetime import date

import pytest

from services.metrics import charts
from services.metrics.experience import Experience, ExperienceGroup
from services.metrics.funnel import STEPS, Funnel, FunnelStep, Loss
from services.metrics.images import chart_png
from services.metrics.speed import FeedbackTimes, FeedbackWeek, Spread, StageTime, TimeToOfferAndHire, Turnaround
from services.platform.i18n import t

COHORT = Funnel(
    view="cohort",
    steps=[
        FunnelStep(step=s, count=c, in_progress=o, conversion=v)
        for s, c, o, v in zip(
            STEPS,
            [10, 8, 6, 5, 3, 2, 2, 1],
            [1, 1, 0, 1, 0, 0, 1, 0],
            [None, 8 / 9, 6 / 7, 5 / 6, 3 / 4, 2 / 3, 1.0, 1 / 1],
            strict=True,
        )
    ],
    overall=1 / 6,
)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_funnel_table_holds_each_steps_count_open_part_and_conversion(lang: str) -> None:
    figure = charts.funnel_figure(COHORT, lang)
    assert figure.title == t("metrics.funnel.title_cohort", lang)
    table = figure.table
    assert list(table.columns) == [
        t("metrics.col.step", lang),
        t("metrics.col.count", lang),
        t("metrics.col.in_progress", lang),
        t("metrics.col.conversion", lang),
    ]
    assert list(table.iloc[:, 0]) == [t(f"metrics.step.{s}", lang) for s in STEPS]
    assert list(table.iloc[:, 1]) == [10, 8, 6, 5, 3, 2, 2, 1]
    assert list(table.iloc[:, 3]) == ["—", "89%", "86%", "83%", "75%", "67%", "100%", "100%"]
    spec = figure.chart.to_dict()
    assert spec["title"]["text"] == figure.title
    assert spec["encoding"]["x"]["title"] == t("metrics.axis.applications", lang)
    # The bars stack each step's finished part and its open part: together the step's count.
    values = spec["datasets"][next(iter(spec["datasets"]))]
    assert sum(v["n"] for v in values if v["step"] == t("metrics.step.applied", lang)) == 10


def test_the_activity_funnel_has_no_open_column_and_a_nothing_at_all_funnel_no_chart() -> None:
    activity = Funnel(
        view="activity",
        steps=[FunnelStep(step=s, count=0, in_progress=0, conversion=None) for s in STEPS],
        overall=None,
    )
    figure = charts.funnel_figure(activity, "en")
    assert t("metrics.col.in_progress", "en") not in figure.table.columns
    assert figure.chart is None and len(figure.table) == len(STEPS)


def test_losses_name_the_stage_the_exit_and_the_reason_and_a_missing_reason_says_so() -> None:
    losses = [
        Loss(stage="decision_pending", kind="rejected", reason="skills_below_bar", count=4),
        Loss(stage="offer", kind="declined_offer", reason="compensation", count=2),
        Loss(stage="interviewing", kind="withdrew", reason="", count=1),
        Loss(stage="hired", kind="rejected", reason="probation_not_passed", count=1),
    ]
    table = charts.losses_figure(losses, "en").table
    assert table.values.tolist() == [
        [t("stage.decision_pending", "en"), t("metrics.exit.rejected", "en"), t("reason.skills_below_bar", "en"), 4],
        [t("stage.offer", "en"), t("metrics.exit.declined_offer", "en"), t("decline.compensation", "en"), 2],
        [t("stage.interviewing", "en"), t("metrics.exit.withdrew", "en"), t("metrics.reason_none", "en"), 1],
        [t("stage.hired", "en"), t("metrics.exit.rejected", "en"), t("metrics.reason.probation_not_passed", "en"), 1],
    ]
    assert charts.losses_figure([], "en").chart is None


def test_feedback_figures_show_the_buckets_and_the_weeks_with_answers_only() -> None:
    result = FeedbackTimes(
        interviews=5,
        buckets={"within_24h": 1, "24_48h": 1, "2_7d": 1, "over_7d": 1, "waiting": 1},
        waiting_overdue=1,
        within_promise_share=0.2,
        hours=Spread(count=4, median=71.5, p90=240.0),
        weeks=[
            FeedbackWeek(week=date(2026, 3, 2), interviews=2, within_promise=1, share=0.5),
            FeedbackWeek(week=date(2026, 3, 9), interviews=0, within_promise=0, share=None),
        ],
    )
    buckets = charts.feedback_figure(result, "zh").table
    assert list(buckets.iloc[:, 1]) == [1, 1, 1, 1, 1] and list(buckets.iloc[:, 2]) == ["20%"] * 5
    weeks = charts.feedback_weeks_figure(result, "zh")
    assert list(weeks.table.iloc[:, 3]) == ["50%", "—"]
    points = weeks.chart.to_dict()["datasets"]
    assert [p["week"] for p in points[next(iter(points))]] == ["03-02"]  # an empty week is not drawn as 0%


def test_a_name_with_markup_or_a_formula_stays_plain_data_in_table_and_chart() -> None:
    hostile = '<img src=x onerror=alert(1)> =HYPERLINK("http://evil")'
    rows = [Turnaround(interviewer_id=1, name=hostile, seats=3, submitted=2, still_open=1, open_overdue=1,
                       median_hours=30.0, within_promise_share=0.5)]  # fmt: skip
    figure = charts.turnaround_figure(rows, "en")
    assert figure.table.iloc[0, 0] == hostile  # the CSV writer neutralises the formula (tests/pages)
    spec = figure.chart.to_dict()
    assert any(v.get("who") == hostile for data in spec["datasets"].values() for v in data)  # text, not markup


def test_stage_and_time_to_figures_draw_median_bars_and_p90_marks() -> None:
    stages = [StageTime(stage="interviewing", days=Spread(count=3, median=4.0, p90=9.5), still_in=2),
              StageTime(stage="offer", days=Spread(count=0, median=None, p90=None), still_in=1)]  # fmt: skip
    figure = charts.stage_figure(stages, "en")
    assert figure.table.values.tolist() == [
        [t("stage.interviewing", "en"), 3, "4.0", "9.5", 2],
        [t("stage.offer", "en"), 0, "—", "—", 1],
    ]
    assert figure.chart is not None
    none = TimeToOfferAndHire(days_to_offer=Spread(0, None, None), days_to_hire=Spread(0, None, None))
    assert charts.time_to_figure(none, "en").chart is None


def test_an_experience_group_under_five_answers_shows_only_its_count() -> None:
    group = lambda title, n, nps: ExperienceGroup(  # noqa: E731
        job_id=1, job_title=title, stage="", answers=n, shown=n >= 5, nps=nps if n >= 5 else None,
        clarity=4.2 if n >= 5 else None, respect=4.0 if n >= 5 else None, treatment=3.8 if n >= 5 else None,
    )  # fmt: skip
    result = Experience(overall=group("", 9, 20.0), by_job=[group("A", 5, 20.0), group("B", 4, None)], by_stage=[])
    figure = charts.experience_figure(result, "zh", "job")
    too_few = t("metrics.experience.too_few", "zh", n=5)
    assert figure.table.values.tolist() == [
        ["A", 5, "20.0", "4.20", "4.00", "3.80"],
        ["B", 4, too_few, too_few, too_few, too_few],
    ]
    drawn = figure.chart.to_dict()["datasets"]
    assert [v["group"] for v in drawn[next(iter(drawn))]] == ["A"]  # B is not drawn
    assert charts.experience_figure(result, "zh", "stage").chart is None


def test_a_chart_renders_to_a_png_offline_with_chinese_text() -> None:
    png = chart_png(charts.funnel_figure(COHORT, "zh").chart)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_calibration_flags_stand_out_and_every_figure_is_in_the_table() -> None:
    from services.metrics.calibration import Calibration

    def person(name: str, leniency: float | None, flagged: bool) -> Calibration:
        return Calibration(
            interviewer_id=1, name=name, scorecards=6, rated=6, mean_rating=3.5, yes_rate=0.5, shared_interviews=5,
            shared_mean=3.5, panel_mean=None if leniency is None else 3.5 - leniency, leniency=leniency,
            shared_yes_interviews=5, shared_yes_rate=0.6, panel_yes_rate=0.4, decided=4, agreement=0.75,
            flagged=flagged,
        )  # fmt: skip

    figure = charts.calibration_figure(
        [person("宽松", 0.8, True), person("Even", 0.1, False), person("Alone", None, False)], "en"
    )
    assert list(figure.table[t("metrics.col.flagged", "en")]) == ["Yes", "No", "No"]
    assert list(figure.table[t("metrics.col.leniency", "en")]) == ["0.80", "0.10", "—"]
    drawn = figure.chart.to_dict()["datasets"]
    assert [v["who"] for data in drawn.values() for v in data if "who" in v] == ["宽松", "Even"]


def test_quality_and_selection_figures_name_bands_outcomes_groups_and_hide_small_groups() -> None:
    from services.metrics.quality import OutcomeGroup, QualityOfHire, ScoreBand
    from services.metrics.selection import GroupRate, SelectionRates

    hires = QualityOfHire(
        hires=6,
        outcomes=[OutcomeGroup("passed", 4, 4, 4.1, 3, 4.0), OutcomeGroup("not_passed", 2, 2, 2.9, 1, 2.0),
                  OutcomeGroup("extended", 0, 0, None, 0, None)],
        bands=[ScoreBand("low", 2, 0, 2, 0, 0.0, 2.0), ScoreBand("mid", 0, 0, 0, 0, None, None),
               ScoreBand("high", 4, 4, 0, 0, 1.0, 4.0)],
        score_gap=1.2,
    )  # fmt: skip
    bands = charts.quality_bands_figure(hires, "zh")
    assert list(bands.table.iloc[:, 0]) == [t(f"metrics.band.{b}", "zh") for b in ("low", "mid", "high")]
    assert list(bands.table[t("metrics.col.pass_rate", "zh")]) == ["0%", "—", "100%"]
    empty = QualityOfHire(hires=0, outcomes=[], bands=[], score_gap=None)
    assert charts.quality_bands_figure(empty, "zh").chart is None
    assert charts.quality_outcomes_figure(empty, "zh").chart is None
    rates = SelectionRates(
        group_by="source", from_step="applied", to_step="interviewed",
        groups=[GroupRate("referral", 10, 1, 8, 0.8, 1.0, False, False),
                GroupRate("campus", 10, 0, 5, 0.5, 0.625, True, False),
                GroupRate("", 4, 0, None, None, None, False, True)],
        highest_group="referral", highest_rate=0.8,
    )  # fmt: skip
    figure = charts.selection_figure(rates, "en")
    assert list(figure.table.iloc[:, 0]) == [
        t("source.referral", "en"),
        t("source.campus", "en"),
        t("metrics.group.none", "en"),
    ]
    hidden = t("metrics.selection.suppressed", "en", least=5)
    assert list(figure.table[t("metrics.col.rate", "en")]) == ["80%", "50%", hidden]
    layers = figure.chart.to_dict()["layer"]
    assert any(layer["mark"]["type"] == "rule" for layer in layers)  # the four-fifths line at 64%
