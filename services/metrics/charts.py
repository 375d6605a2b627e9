"""Each metric's figure: an altair chart with its title and axes in the reader's language and the table of the same
numbers (translated headers, one row per bar or point), built from a metric's result. The Metrics screen shows
both (and offers them as CSV and PNG); the weekly digest renders the charts to PNG (services.metrics.images).

Nothing here reads the database: a figure is made from what a metric returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd

from services.metrics.calibration import Calibration
from services.metrics.experience import Experience
from services.metrics.funnel import Funnel, Loss
from services.metrics.offer_metrics import DeclineReasonCount, OfferOutcomes
from services.metrics.quality import InterviewerQuality, QualityOfHire, RoundQuality
from services.metrics.selection import MIN_GROUP as SELECTION_MIN
from services.metrics.selection import SelectionRates
from services.metrics.sources import SourceFigures
from services.metrics.speed import FeedbackTimes, StageTime, TimeToOfferAndHire, Turnaround
from services.platform.i18n import has_text, t

WIDTH = 560
BAR = "#3f6fb5"
MUTED = "#b8c7dd"
WARN = "#c8553d"
COUNTS = alt.Axis(tickMinStep=1, format="d")  # a count axis: no 0.5 candidates between ticks
FONT = "WenQuanYi Micro Hei, Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif"


@dataclass(frozen=True)
class Figure:
    """One metric as a chart (None: nothing to draw) and a table; `name` is the files' name (ASCII)."""

    name: str
    title: str
    chart: alt.TopLevelMixin | None
    table: pd.DataFrame


def percent(value: float | None) -> str:
    """A share as a person reads it in a table ("42%"; "—" when there is nothing to divide)."""
    return "—" if value is None else f"{value * 100:.0f}%"


def number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _style(chart: Any, title: str) -> Any:
    return (
        chart.properties(title=alt.Title(title, anchor="start", fontSize=15), width=WIDTH)
        .configure(font=FONT)
        .configure_axis(labelFontSize=12, titleFontSize=12, labelLimit=220)
        .configure_legend(labelFontSize=12, titleFontSize=12, orient="bottom")
        .configure_view(stroke=None)
    )


def _label(prefix: str, code: str, lang: str) -> str:
    key = f"{prefix}.{code}"
    return t(key, lang) if code and has_text(key) else (code or t("metrics.reason_none", lang))


# --------------------------------------------------------------------------- funnel
def funnel_figure(result: Funnel, lang: str) -> Figure:
    """Bars per step (in the cohort view: finished and still open stacked), each step's conversion in the table."""
    tx = lambda key: t(key, lang)  # noqa: E731
    steps = [tx(f"metrics.step.{s.step}") for s in result.steps]
    cohort = result.view == "cohort"
    table = pd.DataFrame(
        {
            tx("metrics.col.step"): steps,
            tx("metrics.col.count"): [s.count for s in result.steps],
            **({tx("metrics.col.in_progress"): [s.in_progress for s in result.steps]} if cohort else {}),
            tx("metrics.col.conversion"): [percent(s.conversion) for s in result.steps],
        }
    )
    title = tx("metrics.funnel.title_cohort" if cohort else "metrics.funnel.title_activity")
    if not result.steps or result.steps[0].count == 0:
        return Figure("funnel", title, None, table)
    done, going = tx("metrics.funnel.closed"), tx("metrics.funnel.open")
    rows = []
    for label, s in zip(steps, result.steps, strict=True):
        rows.append(
            {
                "step": label,
                "part": done if cohort else tx("metrics.col.count"),
                "n": s.count - s.in_progress,
                "rank": 0,
            }
        )
        if cohort:
            rows.append({"step": label, "part": going, "n": s.in_progress, "rank": 1})
    data = pd.DataFrame(rows)
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("step:N", sort=steps, title=None),
            x=alt.X("sum(n):Q", title=tx("metrics.axis.applications"), axis=COUNTS),
            color=alt.Color(
                "part:N",
                scale=alt.Scale(domain=[done, going] if cohort else [tx("metrics.col.count")], range=[BAR, MUTED]),
                title=None,
                legend=alt.Legend() if cohort else None,
            ),
            order=alt.Order("rank:Q", sort="ascending"),  # the finished part first, from the axis
            tooltip=[
                alt.Tooltip("step:N", title=tx("metrics.col.step")),
                alt.Tooltip("sum(n):Q", title=tx("metrics.col.count")),
            ],
        )
    )
    return Figure("funnel", title, _style(bars, title), table)


def losses_figure(result: Sequence[Loss], lang: str) -> Figure:
    """Where candidates were lost: one bar per stage × exit × reason, most first."""
    tx = lambda key: t(key, lang)  # noqa: E731
    reason_prefix = {"rejected": "reason", "declined_offer": "decline"}
    rows = [
        {
            tx("metrics.col.stage"): t(f"stage.{r.stage}", lang) if r.stage else "—",
            tx("metrics.col.exit"): tx(f"metrics.exit.{r.kind}"),
            tx("metrics.col.reason"): tx("metrics.reason.probation_not_passed")
            if r.reason == "probation_not_passed"
            else _label(reason_prefix.get(r.kind, "reason"), r.reason, lang),
            tx("metrics.col.count"): r.count,
        }
        for r in result
    ]
    table = pd.DataFrame(
        rows,
        columns=[tx("metrics.col.stage"), tx("metrics.col.exit"), tx("metrics.col.reason"), tx("metrics.col.count")],
    )
    title = tx("metrics.losses.title")
    if table.empty:
        return Figure("losses", title, None, table)
    data = table.rename(columns=dict(zip(table.columns, ["stage", "exit", "reason", "n"], strict=True)))
    data["what"] = data["stage"] + " · " + data["exit"] + " · " + data["reason"]
    chart = (
        alt.Chart(data)
        .mark_bar(color=WARN)
        .encode(
            y=alt.Y("what:N", sort="-x", title=None),
            x=alt.X("n:Q", title=tx("metrics.axis.applications"), axis=COUNTS),
            tooltip=[
                alt.Tooltip("what:N", title=tx("metrics.col.reason")),
                alt.Tooltip("n:Q", title=tx("metrics.col.count")),
            ],
        )
    )
    return Figure("losses", title, _style(chart, title), table)


# --------------------------------------------------------------------------- speed
BUCKET_ORDER = ("within_24h", "24_48h", "2_7d", "over_7d", "waiting")


def feedback_figure(result: FeedbackTimes, lang: str) -> Figure:
    """How long candidates waited for word after an interview, in buckets (the 24 h promise first)."""
    tx = lambda key: t(key, lang)  # noqa: E731
    labels = [tx(f"metrics.bucket.{b}") for b in BUCKET_ORDER]
    counts = [result.buckets.get(b, 0) for b in BUCKET_ORDER]
    total = sum(counts)
    table = pd.DataFrame(
        {
            tx("metrics.col.waited"): labels,
            tx("metrics.col.interviews"): counts,
            tx("metrics.col.share"): [percent(c / total if total else None) for c in counts],
        }
    )
    title = tx("metrics.feedback.title")
    if not total:
        return Figure("feedback_times", title, None, table)
    data = pd.DataFrame({"bucket": labels, "n": counts, "ok": [i == 0 for i in range(len(labels))]})
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("bucket:N", sort=labels, title=tx("metrics.axis.waited"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("n:Q", title=tx("metrics.axis.interviews"), axis=COUNTS),
            color=alt.condition(alt.datum.ok, alt.value(BAR), alt.value(WARN)),
            tooltip=[
                alt.Tooltip("bucket:N", title=tx("metrics.col.waited")),
                alt.Tooltip("n:Q", title=tx("metrics.col.interviews")),
            ],
        )
    )
    return Figure("feedback_times", title, _style(chart, title), table)


def feedback_weeks_figure(result: FeedbackTimes, lang: str) -> Figure:
    """The share of candidates who heard within 24 hours, week by week (weeks begin on Monday, company time)."""
    tx = lambda key: t(key, lang)  # noqa: E731
    table = pd.DataFrame(
        {
            tx("metrics.col.week"): [w.week.isoformat() for w in result.weeks],
            tx("metrics.col.interviews"): [w.interviews for w in result.weeks],
            tx("metrics.col.within_promise"): [w.within_promise for w in result.weeks],
            tx("metrics.col.share"): [percent(w.share) for w in result.weeks],
        }
    )
    title = tx("metrics.feedback_weeks.title")
    points = [w for w in result.weeks if w.share is not None]
    if not points:
        return Figure("feedback_weekly", title, None, table)
    data = pd.DataFrame({"week": [w.week.strftime("%m-%d") for w in points], "share": [w.share for w in points]})
    line = (
        alt.Chart(data)
        .mark_line(point=True, color=BAR)
        .encode(
            # Each point at its Monday (company time), labelled as such: a time axis put its ticks on Sundays.
            x=alt.X(
                "week:O", title=tx("metrics.axis.week"), sort=None, axis=alt.Axis(labelAngle=-45, labelOverlap="greedy")
            ),  # fmt: skip
            y=alt.Y(
                "share:Q",
                title=tx("metrics.axis.share_within"),
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
            ),
            tooltip=[
                alt.Tooltip("week:O", title=tx("metrics.col.week")),
                alt.Tooltip("share:Q", title=tx("metrics.col.share"), format=".0%"),
            ],
        )
    )
    return Figure("feedback_weekly", title, _style(line, title), table)


def turnaround_figure(result: Sequence[Turnaround], lang: str) -> Figure:
    """Scorecard turnaround per interviewer: median hours after the interview, share within 24 h, still open."""
    tx = lambda key: t(key, lang)  # noqa: E731
    table = pd.DataFrame(
        {
            tx("metrics.col.interviewer"): [r.name for r in result],
            tx("metrics.col.seats"): [r.seats for r in result],
            tx("metrics.col.submitted"): [r.submitted for r in result],
            tx("metrics.col.still_open"): [r.still_open for r in result],
            tx("metrics.col.open_overdue"): [r.open_overdue for r in result],
            tx("metrics.col.median_hours"): [number(r.median_hours) for r in result],
            tx("metrics.col.within_24h"): [percent(r.within_promise_share) for r in result],
        }
    )
    title = tx("metrics.turnaround.title")
    drawn = [r for r in result if r.median_hours is not None]
    if not drawn:
        return Figure("scorecard_turnaround", title, None, table)
    data = pd.DataFrame({"who": [r.name for r in drawn], "hours": [r.median_hours for r in drawn]})
    bars = (
        alt.Chart(data)
        .mark_bar(color=BAR)
        .encode(
            y=alt.Y("who:N", sort="-x", title=None),
            x=alt.X("hours:Q", title=tx("metrics.axis.median_hours")),
            tooltip=[
                alt.Tooltip("who:N", title=tx("metrics.col.interviewer")),
                alt.Tooltip("hours:Q", title=tx("metrics.col.median_hours"), format=".1f"),
            ],
        )
    )
    promise = alt.Chart(pd.DataFrame({"h": [24]})).mark_rule(color=WARN, strokeDash=[4, 3]).encode(x="h:Q")
    return Figure("scorecard_turnaround", title, _style(bars + promise, title), table)


def stage_figure(result: Sequence[StageTime], lang: str) -> Figure:
    """Days spent in each stage: the median as a bar, the 90th percentile as a tick."""
    tx = lambda key: t(key, lang)  # noqa: E731
    stages = [t(f"stage.{r.stage}", lang) for r in result]
    table = pd.DataFrame(
        {
            tx("metrics.col.stage"): stages,
            tx("metrics.col.stays"): [r.days.count for r in result],
            tx("metrics.col.median_days"): [number(r.days.median) for r in result],
            tx("metrics.col.p90_days"): [number(r.days.p90) for r in result],
            tx("metrics.col.still_in"): [r.still_in for r in result],
        }
    )
    title = tx("metrics.stages.title")
    drawn = [(s, r) for s, r in zip(stages, result, strict=True) if r.days.median is not None]
    if not drawn:
        return Figure("stage_durations", title, None, table)
    data = pd.DataFrame(
        {
            "stage": [s for s, _ in drawn],
            "median": [r.days.median for _, r in drawn],
            "p90": [r.days.p90 for _, r in drawn],
        }
    )
    base = alt.Chart(data).encode(y=alt.Y("stage:N", sort=stages, title=None))
    bars = base.mark_bar(color=BAR).encode(
        x=alt.X("median:Q", title=tx("metrics.axis.days")),
        tooltip=[
            alt.Tooltip("stage:N", title=tx("metrics.col.stage")),
            alt.Tooltip("median:Q", title=tx("metrics.col.median_days"), format=".1f"),
            alt.Tooltip("p90:Q", title=tx("metrics.col.p90_days"), format=".1f"),
        ],
    )
    ticks = base.mark_tick(color=WARN, thickness=3, size=18).encode(x="p90:Q")
    return Figure("stage_durations", title, _style(bars + ticks, title), table)


def time_to_figure(result: TimeToOfferAndHire, lang: str) -> Figure:
    """Days from application to the first offer and to the hire: count, median and 90th percentile."""
    tx = lambda key: t(key, lang)  # noqa: E731
    rows = [("metrics.time_to.offer", result.days_to_offer), ("metrics.time_to.hire", result.days_to_hire)]
    labels = [tx(k) for k, _ in rows]
    table = pd.DataFrame(
        {
            tx("metrics.col.measure"): labels,
            tx("metrics.col.applications"): [s.count for _, s in rows],
            tx("metrics.col.median_days"): [number(s.median) for _, s in rows],
            tx("metrics.col.p90_days"): [number(s.p90) for _, s in rows],
        }
    )
    title = tx("metrics.time_to.title")
    drawn = [(label, s) for label, (_, s) in zip(labels, rows, strict=True) if s.median is not None]
    if not drawn:
        return Figure("time_to_offer_and_hire", title, None, table)
    data = pd.DataFrame(
        {"what": [w for w, _ in drawn], "median": [s.median for _, s in drawn], "p90": [s.p90 for _, s in drawn]}
    )
    base = alt.Chart(data).encode(y=alt.Y("what:N", sort=labels, title=None))
    bars = base.mark_bar(color=BAR).encode(x=alt.X("median:Q", title=tx("metrics.axis.days")))
    ticks = base.mark_tick(color=WARN, thickness=3, size=18).encode(x="p90:Q")
    return Figure("time_to_offer_and_hire", title, _style(bars + ticks, title), table)


# --------------------------------------------------------------------------- offers
def offers_figure(result: OfferOutcomes, lang: str) -> Figure:
    """The offers counted, by status."""
    tx = lambda key: t(key, lang)  # noqa: E731
    statuses = [s for s, n in result.by_status.items()]
    labels = [t(f"offer_status.{s}", lang) for s in statuses]
    counts = [result.by_status[s] for s in statuses]
    table = pd.DataFrame({tx("metrics.col.status"): labels, tx("metrics.col.offers"): counts})
    title = tx("metrics.offers.title")
    if not result.offers:
        return Figure("offers", title, None, table)
    data = pd.DataFrame({"status": labels, "n": counts})
    chart = (
        alt.Chart(data)
        .mark_bar(color=BAR)
        .encode(
            y=alt.Y("status:N", sort=labels, title=None),
            x=alt.X("n:Q", title=tx("metrics.col.offers"), axis=COUNTS),
            tooltip=[
                alt.Tooltip("status:N", title=tx("metrics.col.status")),
                alt.Tooltip("n:Q", title=tx("metrics.col.offers")),
            ],
        )
    )
    return Figure("offers", title, _style(chart, title), table)


def decline_figure(result: Sequence[DeclineReasonCount], lang: str) -> Figure:
    """Why candidates declined, most first."""
    tx = lambda key: t(key, lang)  # noqa: E731
    labels = [t(r.label_key, lang) for r in result]
    table = pd.DataFrame({tx("metrics.col.reason"): labels, tx("metrics.col.offers"): [r.count for r in result]})
    title = tx("metrics.declines.title")
    if not result:
        return Figure("decline_reasons", title, None, table)
    data = pd.DataFrame({"reason": labels, "n": [r.count for r in result]})
    chart = (
        alt.Chart(data)
        .mark_bar(color=WARN)
        .encode(
            y=alt.Y("reason:N", sort="-x", title=None),
            x=alt.X("n:Q", title=tx("metrics.col.offers"), axis=COUNTS),
            tooltip=[
                alt.Tooltip("reason:N", title=tx("metrics.col.reason")),
                alt.Tooltip("n:Q", title=tx("metrics.col.offers")),
            ],
        )
    )
    return Figure("decline_reasons", title, _style(chart, title), table)


# --------------------------------------------------------------------------- sources
def sources_figure(result: Sequence[SourceFigures], lang: str) -> Figure:
    """Per source: applications, interviews, offers and hires side by side; conversion and how far in the table."""
    tx = lambda key: t(key, lang)  # noqa: E731
    names = [t(f"source.{r.source}", lang) for r in result]
    table = pd.DataFrame(
        {
            tx("metrics.col.source"): names,
            tx("metrics.col.applications"): [r.applications for r in result],
            tx("metrics.col.candidates"): [r.candidates for r in result],
            tx("metrics.col.interviewed"): [r.interviewed for r in result],
            tx("metrics.col.offers"): [r.offers for r in result],
            tx("metrics.col.hires"): [r.hires for r in result],
            tx("metrics.col.conversion_hire"): [percent(r.conversion) for r in result],
            tx("metrics.col.furthest"): [
                "—" if r.mean_furthest_step is None else f"{r.mean_furthest_step:.2f}" for r in result
            ],
        }
    )
    title = tx("metrics.sources.title")
    if not any(r.applications for r in result):
        return Figure("sources", title, None, table)
    measures = [
        ("applications", tx("metrics.col.applications")),
        ("interviewed", tx("metrics.col.interviewed")),
        ("offers", tx("metrics.col.offers")),
        ("hires", tx("metrics.col.hires")),
    ]
    rows = [
        {"source": name, "measure": label, "n": getattr(r, field)}
        for name, r in zip(names, result, strict=True)
        for field, label in measures
    ]
    order = [label for _, label in measures]
    chart = (
        alt.Chart(pd.DataFrame(rows))
        .mark_bar()
        .encode(
            x=alt.X("source:N", sort=names, title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("measure:N", sort=order),
            y=alt.Y("n:Q", title=tx("metrics.axis.count"), axis=COUNTS),
            color=alt.Color(
                "measure:N", sort=order, title=None, scale=alt.Scale(range=["#b8c7dd", "#7d9bc9", BAR, "#1f3f73"])
            ),
            tooltip=[
                alt.Tooltip("source:N", title=tx("metrics.col.source")),
                alt.Tooltip("measure:N", title=tx("metrics.col.measure")),
                alt.Tooltip("n:Q", title=tx("metrics.axis.count")),
            ],
        )
    )
    return Figure("sources", title, _style(chart, title), table)


# --------------------------------------------------------------------------- candidate experience
def _survey_cell(value: float | None, shown: bool, lang: str, digits: int, least: int) -> str:
    if not shown:
        return t("metrics.experience.too_few", lang, n=least)
    return number(value, digits)


def experience_figure(result: Experience, lang: str, by: str) -> Figure:
    """NPS and each question's mean by job (`by` "job") or by the stage reached ("stage"); a group of fewer than
    `result.min_answers` answers shows no figure, only how many answers it has."""
    tx = lambda key: t(key, lang)  # noqa: E731
    groups = result.by_job if by == "job" else result.by_stage
    names = [g.job_title if by == "job" else t(f"stage.{g.stage}", lang) for g in groups]
    table = pd.DataFrame(
        {
            tx("metrics.col.job" if by == "job" else "metrics.col.stage"): names,
            tx("metrics.col.answers"): [g.answers for g in groups],
            tx("metrics.col.nps"): [_survey_cell(g.nps, g.shown, lang, 1, result.min_answers) for g in groups],
            tx("metrics.col.clarity"): [_survey_cell(g.clarity, g.shown, lang, 2, result.min_answers) for g in groups],
            tx("metrics.col.respect"): [_survey_cell(g.respect, g.shown, lang, 2, result.min_answers) for g in groups],
            tx("metrics.col.treatment"): [
                _survey_cell(g.treatment, g.shown, lang, 2, result.min_answers) for g in groups
            ],
        }
    )
    title = tx(f"metrics.experience.title_{by}")
    drawn = [(n, g) for n, g in zip(names, groups, strict=True) if g.shown and g.nps is not None]
    if not drawn:
        return Figure(f"experience_by_{by}", title, None, table)
    data = pd.DataFrame({"group": [n for n, _ in drawn], "nps": [g.nps for _, g in drawn]})
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("group:N", sort=[n for n, _ in drawn], title=None),
            x=alt.X("nps:Q", title=tx("metrics.col.nps"), scale=alt.Scale(domain=[-100, 100])),
            color=alt.condition(alt.datum.nps >= 0, alt.value(BAR), alt.value(WARN)),
            tooltip=[
                alt.Tooltip("group:N", title=tx("metrics.col.job" if by == "job" else "metrics.col.stage")),
                alt.Tooltip("nps:Q", title=tx("metrics.col.nps"), format=".1f"),
            ],
        )
    )
    return Figure(f"experience_by_{by}", title, _style(chart, title), table)


# --------------------------------------------------------------------------- interviewer calibration
def calibration_figure(result: Sequence[Calibration], lang: str) -> Figure:
    """Each interviewer's leniency — their mean rating on shared interviews minus the other panelists' — as a
    diverging bar (flagged ones in the warning colour), and every figure in the table."""
    tx = lambda key: t(key, lang)  # noqa: E731
    yes, no = tx("metrics.yes"), tx("metrics.no")
    table = pd.DataFrame(
        {
            tx("metrics.col.interviewer"): [r.name for r in result],
            tx("metrics.col.scorecards"): [r.scorecards for r in result],
            tx("metrics.col.mean_rating"): [number(r.mean_rating, 2) for r in result],
            tx("metrics.col.yes_rate"): [percent(r.yes_rate) for r in result],
            tx("metrics.col.shared"): [r.shared_interviews for r in result],
            tx("metrics.col.panel_mean"): [number(r.panel_mean, 2) for r in result],
            tx("metrics.col.leniency"): [number(r.leniency, 2) for r in result],
            tx("metrics.col.panel_yes_rate"): [percent(r.panel_yes_rate) for r in result],
            tx("metrics.col.agreement"): [percent(r.agreement) for r in result],
            tx("metrics.col.flagged"): [yes if r.flagged else no for r in result],
        }
    )
    title = tx("metrics.calibration.title")
    drawn = [r for r in result if r.leniency is not None]
    if not drawn:
        return Figure("calibration", title, None, table)
    data = pd.DataFrame(
        {
            "who": [r.name for r in drawn],
            "leniency": [r.leniency for r in drawn],
            "flagged": [r.flagged for r in drawn],
            "shared": [r.shared_interviews for r in drawn],
        }
    )
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("who:N", sort="-x", title=None),
            x=alt.X("leniency:Q", title=tx("metrics.axis.leniency")),
            color=alt.condition(alt.datum.flagged, alt.value(WARN), alt.value(BAR)),
            tooltip=[
                alt.Tooltip("who:N", title=tx("metrics.col.interviewer")),
                alt.Tooltip("leniency:Q", title=tx("metrics.col.leniency"), format="+.2f"),
                alt.Tooltip("shared:Q", title=tx("metrics.col.shared")),
            ],
        )
    )
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color="#52606d").encode(x="x:Q")
    return Figure("calibration", title, _style(bars + zero, title), table)


# --------------------------------------------------------------------------- quality of hire
def quality_bands_figure(result: QualityOfHire, lang: str) -> Figure:
    """Pass rate of the hires by their interview score band: does a high score predict a pass?"""
    tx = lambda key: t(key, lang)  # noqa: E731
    bands = [tx(f"metrics.band.{b.band}") for b in result.bands]
    table = pd.DataFrame(
        {
            tx("metrics.col.band"): bands,
            tx("metrics.col.hires"): [b.hires for b in result.bands],
            tx("metrics.col.passed"): [b.passed for b in result.bands],
            tx("metrics.col.not_passed"): [b.not_passed for b in result.bands],
            tx("metrics.col.extended"): [b.extended for b in result.bands],
            tx("metrics.col.pass_rate"): [percent(b.pass_rate) for b in result.bands],
            tx("metrics.col.mean_check_in"): [number(b.mean_check_in, 2) for b in result.bands],
        }
    )
    title = tx("metrics.quality.title_bands")
    drawn = [(n, b) for n, b in zip(bands, result.bands, strict=True) if b.pass_rate is not None]
    if not drawn:
        return Figure("quality_bands", title, None, table)
    data = pd.DataFrame({"band": [n for n, _ in drawn], "rate": [b.pass_rate for _, b in drawn],
                         "hires": [b.hires for _, b in drawn]})  # fmt: skip
    chart = (
        alt.Chart(data)
        .mark_bar(color=BAR)
        .encode(
            x=alt.X("band:N", sort=bands, title=tx("metrics.axis.band"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y(
                "rate:Q", title=tx("metrics.col.pass_rate"), scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")
            ),
            tooltip=[
                alt.Tooltip("band:N", title=tx("metrics.col.band")),
                alt.Tooltip("rate:Q", title=tx("metrics.col.pass_rate"), format=".0%"),
                alt.Tooltip("hires:Q", title=tx("metrics.col.hires")),
            ],
        )
    )
    return Figure("quality_bands", title, _style(chart, title), table)


def quality_outcomes_figure(result: QualityOfHire, lang: str) -> Figure:
    """The hires by probation outcome with their mean interview score and mean check-in rating."""
    tx = lambda key: t(key, lang)  # noqa: E731
    names = [tx(f"metrics.outcome.{o.outcome}") for o in result.outcomes]
    table = pd.DataFrame(
        {
            tx("metrics.col.outcome"): names,
            tx("metrics.col.hires"): [o.hires for o in result.outcomes],
            tx("metrics.col.mean_score"): [number(o.mean_score, 2) for o in result.outcomes],
            tx("metrics.col.mean_check_in"): [number(o.mean_check_in, 2) for o in result.outcomes],
        }
    )
    title = tx("metrics.quality.title_outcomes")
    drawn = [(n, o) for n, o in zip(names, result.outcomes, strict=True) if o.mean_score is not None]
    if not drawn:
        return Figure("quality_outcomes", title, None, table)
    data = pd.DataFrame({"outcome": [n for n, _ in drawn], "score": [o.mean_score for _, o in drawn]})
    chart = (
        alt.Chart(data)
        .mark_bar(color=BAR)
        .encode(
            y=alt.Y("outcome:N", sort=names, title=None),
            x=alt.X("score:Q", title=tx("metrics.col.mean_score"), scale=alt.Scale(domain=[0, 5])),
            tooltip=[
                alt.Tooltip("outcome:N", title=tx("metrics.col.outcome")),
                alt.Tooltip("score:Q", title=tx("metrics.col.mean_score"), format=".2f"),
            ],
        )
    )
    return Figure("quality_outcomes", title, _style(chart, title), table)


def quality_split_figure(rows: Sequence[RoundQuality | InterviewerQuality], lang: str, by: str) -> Figure:
    """Per round (`by` "round") or interviewer ("interviewer"): the mean score given to hires who passed against
    those who did not — a part of the process whose scores predict a pass shows the passed higher."""
    tx = lambda key: t(key, lang)  # noqa: E731
    names = [(r.name_zh if lang == "zh" else r.name_en) if isinstance(r, RoundQuality) else r.name for r in rows]
    table = pd.DataFrame(
        {
            tx("metrics.col.round" if by == "round" else "metrics.col.interviewer"): names,
            tx("metrics.col.passed"): [r.scores.passed for r in rows],
            tx("metrics.col.passed_mean"): [number(r.scores.passed_mean, 2) for r in rows],
            tx("metrics.col.not_passed"): [r.scores.not_passed for r in rows],
            tx("metrics.col.not_passed_mean"): [number(r.scores.not_passed_mean, 2) for r in rows],
            tx("metrics.col.extended"): [r.scores.extended for r in rows],
        }
    )
    title = tx(f"metrics.quality.title_by_{by}")
    passed, failed = tx("metrics.outcome.passed"), tx("metrics.outcome.not_passed")
    points = [
        {"who": n, "outcome": label, "score": value}
        for n, r in zip(names, rows, strict=True)
        for label, value in ((passed, r.scores.passed_mean), (failed, r.scores.not_passed_mean))
        if value is not None
    ]
    if not points:
        return Figure(f"quality_by_{by}", title, None, table)
    chart = (
        alt.Chart(pd.DataFrame(points))
        .mark_bar()
        .encode(
            y=alt.Y("who:N", sort=names, title=None),
            yOffset=alt.YOffset("outcome:N", sort=[passed, failed]),
            x=alt.X("score:Q", title=tx("metrics.col.mean_score"), scale=alt.Scale(domain=[0, 5])),
            color=alt.Color("outcome:N", sort=[passed, failed], scale=alt.Scale(range=[BAR, WARN]), title=None),
            tooltip=[
                alt.Tooltip("who:N", title=tx("metrics.col.round" if by == "round" else "metrics.col.interviewer")),
                alt.Tooltip("outcome:N", title=tx("metrics.col.outcome")),
                alt.Tooltip("score:Q", title=tx("metrics.col.mean_score"), format=".2f"),
            ],
        )
    )
    return Figure(f"quality_by_{by}", title, _style(chart, title), table)


# --------------------------------------------------------------------------- selection rate by group
def _group_label(group_by: str, group: str, lang: str) -> str:
    if not group:
        return t("metrics.group.none", lang)
    return t(f"source.{group}", lang) if group_by == "source" and has_text(f"source.{group}") else group


def selection_figure(result: SelectionRates, lang: str) -> Figure:
    """Each group's rate from one step to the next against the highest group's, the four-fifths line drawn; small
    groups show their count only."""
    tx = lambda key: t(key, lang)  # noqa: E731
    names = [_group_label(result.group_by, g.group, lang) for g in result.groups]
    hidden = t("metrics.selection.suppressed", lang, least=SELECTION_MIN)
    table = pd.DataFrame(
        {
            tx(f"metrics.group_by.{result.group_by}"): names,
            tx("metrics.col.considered"): [g.considered for g in result.groups],
            tx("metrics.col.in_progress_apart"): [g.in_progress for g in result.groups],
            tx("metrics.col.went_on"): [hidden if g.suppressed else g.passed for g in result.groups],
            tx("metrics.col.rate"): [hidden if g.suppressed else percent(g.rate) for g in result.groups],
            tx("metrics.col.impact_ratio"): [
                hidden if g.suppressed else number(g.impact_ratio, 2) for g in result.groups
            ],
            tx("metrics.col.flagged"): [tx("metrics.yes") if g.flagged else tx("metrics.no") for g in result.groups],
        }
    )
    title = t(
        "metrics.selection.title",
        lang,
        group=tx(f"metrics.group_by.{result.group_by}"),
        from_step=tx(f"metrics.step.{result.from_step}"),
        to_step=tx(f"metrics.step.{result.to_step}"),
    )
    drawn = [(n, g) for n, g in zip(names, result.groups, strict=True) if not g.suppressed and g.rate is not None]
    if not drawn:
        return Figure("selection", title, None, table)
    data = pd.DataFrame(
        {"group": [n for n, _ in drawn], "rate": [g.rate for _, g in drawn], "flagged": [g.flagged for _, g in drawn]}
    )
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("group:N", sort="-x", title=None),
            x=alt.X("rate:Q", title=tx("metrics.col.rate"), axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            color=alt.condition(alt.datum.flagged, alt.value(WARN), alt.value(BAR)),
            tooltip=[
                alt.Tooltip("group:N", title=tx(f"metrics.group_by.{result.group_by}")),
                alt.Tooltip("rate:Q", title=tx("metrics.col.rate"), format=".0%"),
            ],
        )
    )
    chart = bars
    if result.highest_rate is not None:
        line = pd.DataFrame({"x": [result.highest_rate * 0.8]})
        chart = bars + alt.Chart(line).mark_rule(color=WARN, strokeDash=[4, 3]).encode(x="x:Q")
    return Figure("selection", title, _style(chart, title), table)
