"""Metrics (数据分析): the hiring funnel and what the follow-up data says, for the jobs the viewer may read, filtered
by period (by application date: a cohort; by event date: activity), job, department, source and recruiter. Every
figure is a chart, a table of the same numbers, a CSV and (for a slide) a PNG."""

from __future__ import annotations

import streamlit as st

from services.metrics import (
    calibration,
    charts,
    experience,
    filters,
    funnel,
    offer_metrics,
    quality,
    selection,
    sources,
    speed,
)
from services.platform.policy import Cap
from ui.common import call, can, current_user, lang, show_flash, tr
from ui.metrics_view import computed, freshness_bar, read_filter, show_figure

st.title(tr("nav.metrics"), anchor=False)
show_flash()
choices = call(filters.filter_choices, actor=current_user())
if choices is None:
    st.stop()
metric_filter = read_filter(choices)
if metric_filter is None:
    st.stop()
fresh_place = st.container()
language = lang()
people = can(Cap.view_people_metrics)  # figures per interviewer: admins and recruiters only
names = [
    "funnel",
    "speed",
    "offers",
    "sources",
    "experience",
    *(["calibration"] if people else []),
    "quality",
    "fairness",
]
tabs = dict(
    zip(
        names,
        st.tabs(
            [tr(f"metrics.tab.{name}") for name in names],
            key="metrics_tabs",  # keyed and tracked: a filter change keeps the tab; `.open` says which one it is
            on_change="rerun",
        ),
        strict=True,
    )
)


def show_funnel() -> None:
    st.caption(tr(f"metrics.funnel.explain_{'activity' if metric_filter.by_event else 'cohort'}"))
    result = computed(funnel.funnel, metric_filter)
    if result is not None:
        figure = charts.funnel_figure(result, language)
        overall = charts.percent(result.overall)
        show_figure(figure, key="funnel", note=tr(f"metrics.funnel.overall_{result.view}", share=overall))
    lost = computed(funnel.losses, metric_filter)
    if lost is not None:
        show_figure(charts.losses_figure(lost, language), key="losses")


def show_speed() -> None:
    times = computed(speed.feedback_times, metric_filter)
    if times is not None:
        cols = st.columns(3)
        cols[0].metric(tr("metrics.feedback.kpi_share"), charts.percent(times.within_promise_share))
        cols[1].metric(tr("metrics.feedback.kpi_interviews"), times.interviews)
        cols[2].metric(tr("metrics.feedback.kpi_overdue"), times.waiting_overdue)
        show_figure(charts.feedback_figure(times, language), key="feedback")
        show_figure(charts.feedback_weeks_figure(times, language), key="feedback_weeks")
    turnaround = computed(speed.scorecard_turnaround, metric_filter)
    if turnaround is not None:
        show_figure(charts.turnaround_figure(turnaround, language), key="turnaround")
    stages = computed(speed.stage_durations, metric_filter)
    if stages is not None:
        show_figure(charts.stage_figure(stages, language), key="stages")
    to_offer = computed(speed.time_to_offer_and_hire, metric_filter)
    if to_offer is not None:
        show_figure(charts.time_to_figure(to_offer, language), key="time_to")


def show_offers() -> None:
    outcomes = computed(offer_metrics.offer_outcomes, metric_filter)
    if outcomes is not None:
        cols = st.columns(4)
        cols[0].metric(tr("metrics.offers.kpi_acceptance"), charts.percent(outcomes.acceptance_rate))
        cols[1].metric(tr("metrics.offers.kpi_sent"), outcomes.sent)
        cols[2].metric(tr("metrics.offers.kpi_awaiting"), outcomes.awaiting)
        cols[3].metric(
            tr("metrics.offers.kpi_days"),
            charts.number(outcomes.days_to_answer.median),
            help=tr("metrics.offers.kpi_days_help", p90=charts.number(outcomes.days_to_answer.p90)),
        )
        show_figure(charts.offers_figure(outcomes, language), key="offers")
    declines = computed(offer_metrics.decline_reasons, metric_filter)
    if declines is not None:
        show_figure(charts.decline_figure(declines, language), key="declines")


def show_sources() -> None:
    per_source = computed(sources.sources, metric_filter)
    if per_source is not None:
        show_figure(charts.sources_figure(per_source, language), key="sources", note=tr("metrics.sources.note"))


def show_experience() -> None:
    survey = computed(experience.experience, metric_filter)
    if survey is not None:
        overall = survey.overall
        cols = st.columns(3)
        cols[0].metric(
            tr("metrics.col.nps"),
            charts.number(overall.nps) if overall.shown else "—",
            help=tr("metrics.experience.nps_help"),
        )
        cols[1].metric(tr("metrics.col.answers"), overall.answers)
        if not overall.shown:
            cols[2].caption(tr("metrics.experience.too_few_overall", n=survey.min_answers))
        st.caption(tr("metrics.experience.rule", n=survey.min_answers))
        show_figure(charts.experience_figure(survey, language, "job"), key="experience_job")
        show_figure(charts.experience_figure(survey, language, "stage"), key="experience_stage")


def show_calibration() -> None:
    st.caption(tr("metrics.calibration.explain", points=calibration.FLAG_POINTS, shared=calibration.FLAG_MIN_SHARED))
    panel = computed(calibration.interviewer_calibration, metric_filter)
    if panel is not None:
        show_figure(charts.calibration_figure(panel, language), key="calibration")


def show_quality() -> None:
    st.caption(tr("metrics.quality.explain"))
    hires = computed(quality.quality_of_hire, metric_filter)
    if hires is not None:
        cols = st.columns(2)
        cols[0].metric(tr("metrics.quality.kpi_hires"), hires.hires)
        gap = "—" if hires.score_gap is None else f"{hires.score_gap:+.2f}"
        cols[1].metric(tr("metrics.quality.kpi_gap"), gap, help=tr("metrics.quality.kpi_gap_help"))
        show_figure(charts.quality_bands_figure(hires, language), key="quality_bands")
        show_figure(charts.quality_outcomes_figure(hires, language), key="quality_outcomes")
    by_round = computed(quality.quality_by_round, metric_filter)
    if by_round is not None:
        show_figure(charts.quality_split_figure(by_round, language, "round"), key="quality_round")
    if people:
        by_person = computed(quality.quality_by_interviewer, metric_filter)
        if by_person is not None:
            show_figure(charts.quality_split_figure(by_person, language, "interviewer"), key="quality_person")


def show_fairness() -> None:
    st.caption(tr("metrics.selection.explain", least=selection.MIN_GROUP))
    cols = st.columns(3)
    group_by = cols[0].selectbox(
        tr("metrics.selection.group_by"),
        options=list(selection.GROUPS),
        format_func=lambda g: tr(f"metrics.group_by.{g}"),
        key="metrics_selection_group",
    )
    pairs = [(a, b) for i, a in enumerate(selection.SELECTION_STEPS) for b in selection.SELECTION_STEPS[i + 1 :]]
    pair = cols[1].selectbox(
        tr("metrics.selection.steps"),
        options=pairs,
        format_func=lambda p: tr(
            "metrics.selection.pair", from_step=tr(f"metrics.step.{p[0]}"), to_step=tr(f"metrics.step.{p[1]}")
        ),
        key="metrics_selection_steps",
    )
    rates = computed(selection.selection_rates, metric_filter, group_by=group_by, from_step=pair[0], to_step=pair[1])
    if rates is not None:
        show_figure(charts.selection_figure(rates, language), key="selection")


SECTIONS = {
    "funnel": show_funnel,
    "speed": show_speed,
    "offers": show_offers,
    "sources": show_sources,
    "experience": show_experience,
    "calibration": show_calibration,
    "quality": show_quality,
    "fairness": show_fairness,
}
for name, tab in tabs.items():
    with tab:
        if tab.open:  # only the open tab's figures are computed: at 100,000 candidates a figure takes seconds
            SECTIONS[name]()
freshness_bar(fresh_place)
