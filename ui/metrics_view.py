"""The Metrics screen's pieces: the filters (a MetricFilter from the widgets), and one figure shown as its chart,
its table, and its CSV and PNG downloads. The figures themselves are built by services.metrics.charts."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

import streamlit as st

from models.common import utcnow
from services.metrics import cache
from services.metrics.charts import Figure
from services.metrics.filters import BASES, FilterChoices, MetricFilter, default_filter
from services.metrics.images import chart_png
from services.pipeline.spreadsheet import SafeWriter
from services.platform.errors import ValidationError
from ui.common import act, current_user, fmt_clock, md_escape, show_validation, tr

K = "metrics_"  # every widget's key starts with this
ALL = ""  # "all" in a single-choice filter


def _period_default() -> tuple[date, date]:
    first = default_filter(utcnow())
    return first.start, first.end


def read_filter(choices: FilterChoices) -> MetricFilter | None:
    """The filters as widgets, in one row above the charts; the MetricFilter they make, or None (with the reason
    under the field) while the period is half picked or a value is refused."""
    jobs = {j.id: j for j in choices.jobs}
    recruiters = {p.id: p.name for p in choices.recruiters}
    top = st.columns([2.2, 1.6, 2.2])
    with top[0]:
        period = st.date_input(
            tr("metrics.filter.period"),
            value=_period_default(),
            key=K + "period",
            min_value=date(2000, 1, 1),  # Streamlit's default allows only the ten years before the default value
            max_value=date(2100, 12, 31),
            format="YYYY-MM-DD",
            help=tr("metrics.filter.period_help"),
        )
        period_error = st.empty()
    with top[1]:
        basis = st.radio(
            tr("metrics.filter.basis"),
            options=list(BASES),
            format_func=lambda b: tr(f"metrics.basis.{b}"),
            key=K + "basis",
            help=tr("metrics.filter.basis_help"),
        )
    with top[2]:
        job_ids = st.multiselect(
            tr("metrics.filter.jobs"),
            options=list(jobs),
            format_func=lambda j: jobs[j].title if j in jobs else str(j),
            key=K + "jobs",
            placeholder=tr("metrics.filter.all_jobs"),
            select_all=False,
        )
    row = st.columns(3)
    with row[0]:
        department = st.selectbox(
            tr("metrics.filter.department"),
            options=[ALL, *choices.departments],
            format_func=lambda d: d or tr("metrics.filter.all"),
            key=K + "department",
        )
    with row[1]:
        source = st.selectbox(
            tr("metrics.filter.source"),
            options=[ALL, *choices.sources],
            format_func=lambda s: tr(f"source.{s}") if s else tr("metrics.filter.all"),
            key=K + "source",
        )
    with row[2]:
        recruiter = st.selectbox(
            tr("metrics.filter.recruiter"),
            options=[0, *recruiters],
            format_func=lambda r: recruiters.get(r, tr("metrics.filter.all")),
            key=K + "recruiter",
        )
    if not isinstance(period, tuple) or len(period) != 2:
        period_error.info(tr("metrics.filter.pick_end"), icon=":material/date_range:")
        return None
    try:
        return MetricFilter(
            start=period[0],
            end=period[1],
            basis=basis,  # type: ignore[arg-type]
            job_ids=tuple(job_ids),
            department=department,
            source=source,
            recruiter_id=recruiter or None,
        )
    except ValidationError as exc:
        show_validation(exc, {"start": period_error, "end": period_error})
        return None


def computed(fn: Callable[..., Any], metric_filter: MetricFilter, **options: Any) -> Any:
    """A metric's result for the viewer (from the short-lived cache unless the refresh was pressed), or None after
    its refusal is shown."""
    result = act(
        cache.metric,
        rerun=False,
        actor=current_user(),
        fn=fn,
        metric_filter=metric_filter,
        options=tuple(sorted(options.items())),
        fresh=bool(st.session_state.get(K + "fresh")),
    )
    if result is None:
        return None
    oldest = st.session_state.get(K + "oldest")
    if oldest is None or result.at < oldest:
        st.session_state[K + "oldest"] = result.at
    return result.value


def csv_bytes(figure: Figure) -> bytes:
    """The figure's table as CSV for a spreadsheet (UTF-8 with a byte-order mark, so Excel reads the Chinese;
    cells that would run as a formula neutralised)."""
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(list(figure.table.columns))
    for row in figure.table.itertuples(index=False):
        writer.writerow(list(row))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def show_figure(figure: Figure, *, key: str, png: bool = True, note: str | None = None) -> None:
    """The chart (or "no data" for this filter), the same numbers as a table, and the downloads."""
    with st.container(border=True):
        if figure.chart is None:
            st.markdown(f"**{md_escape(figure.title)}**")
            st.info(tr("metrics.no_data"), icon=":material/query_stats:")
        else:
            st.altair_chart(figure.chart, theme=None, key=K + key + "_chart")
        if note:
            st.caption(note)
        with st.expander(tr("metrics.table_view"), icon=":material/table_view:"):
            st.dataframe(figure.table, hide_index=True, width="stretch", key=K + key + "_table")
        buttons = st.container(horizontal=True)
        stamp = date.today().isoformat()
        buttons.download_button(
            tr("metrics.download_csv"),
            data=csv_bytes(figure),
            file_name=f"{figure.name}-{stamp}.csv",
            mime="text/csv",
            key=K + key + "_csv",
            icon=":material/download:",
            on_click="ignore",
        )
        if png and figure.chart is not None:
            chart = figure.chart
            buttons.download_button(
                tr("metrics.download_png"),
                data=lambda: chart_png(chart),  # rendered when clicked, not on every run
                file_name=f"{figure.name}-{stamp}.png",
                mime="image/png",
                key=K + key + "_png",
                icon=":material/image:",
                on_click="ignore",
            )


def freshness_bar(place: Any) -> None:
    """When the figures shown were computed (the oldest of them), and a refresh that computes them again; at the
    end of the run, into `place` above the charts."""
    oldest = st.session_state.pop(K + "oldest", None)
    st.session_state.pop(K + "fresh", None)
    cols = place.columns([5, 1])
    if oldest is not None:
        cols[0].caption(tr("metrics.computed_at", time=fmt_clock(oldest), minutes=int(cache.TTL // 60)))
    if cols[1].button(tr("metrics.refresh"), key=K + "refresh", icon=":material/refresh:"):
        st.session_state[K + "fresh"] = True
        st.rerun()
