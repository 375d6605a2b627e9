"""The metrics cache serves a result again only to a viewer with the same scope, after checking their right to it
again, and for at most its time-to-live; a refresh computes anew."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session

from models.common import utcnow
from services.metrics import cache, funnel
from services.metrics.filters import MetricFilter, default_filter
from services.platform.errors import NotAllowed
from tests.services.metrics_history import MARCH, History, build_history


@pytest.fixture
def history(session: Session, frozen_clock: Any) -> Iterator[History]:
    cache.clear()
    yield build_history(session, frozen_clock)
    cache.clear()


def march(**values: Any) -> MetricFilter:
    return MetricFilter(start=MARCH[0], end=MARCH[1], **values)


def steps(result: funnel.Funnel) -> list[int]:
    return [s.count for s in result.steps]


@contextmanager
def queries(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(session.get_bind(), "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", record)


def test_a_second_read_of_the_same_figures_within_the_ttl_runs_no_metric_query(session: Session, history: History):
    first = cache.metric(session=session, actor=history.admin, fn=funnel.funnel, metric_filter=march())
    with queries(session) as seen:
        again = cache.metric(session=session, actor=history.admin, fn=funnel.funnel, metric_filter=march())
    assert again is first
    assert len(seen) == 1  # the viewer's roles, read again; not the funnel
    fresh = cache.metric(session=session, actor=history.admin, fn=funnel.funnel, metric_filter=march(), fresh=True)
    assert fresh is not first and fresh.value == first.value


def test_a_hiring_manager_is_never_served_an_admins_figures_nor_the_other_way(session: Session, history: History):
    admins = cache.metric(session=session, actor=history.admin, fn=funnel.funnel, metric_filter=march()).value
    mine = cache.metric(session=session, actor=history.m, fn=funnel.funnel, metric_filter=march()).value
    assert mine == funnel.funnel(session=session, actor=history.admin, metric_filter=march(job_ids=[history.job_a.id]))
    assert steps(mine) != steps(admins)
    cache.clear()
    mine_first = cache.metric(session=session, actor=history.m, fn=funnel.funnel, metric_filter=march()).value
    assert cache.metric(session=session, actor=history.admin, fn=funnel.funnel, metric_filter=march()).value == admins
    assert mine_first == mine
    # Another manager's jobs are another scope: N never reads M's cached figures.
    other = cache.metric(session=session, actor=history.n, fn=funnel.funnel, metric_filter=march()).value
    assert other == funnel.funnel(session=session, actor=history.admin, metric_filter=march(job_ids=[history.job_b.id]))


def test_a_viewer_who_lost_the_right_is_refused_though_the_figures_are_cached(session: Session, history: History):
    cache.metric(session=session, actor=history.m, fn=funnel.funnel, metric_filter=march())
    history.m.roles = "interviewer"
    session.add(history.m)
    session.commit()
    with pytest.raises(NotAllowed):
        cache.metric(session=session, actor=history.m, fn=funnel.funnel, metric_filter=march())
    with pytest.raises(NotAllowed):
        cache.metric(session=session, actor=history.interviewer, fn=funnel.funnel, metric_filter=march())
    with pytest.raises(NotAllowed):
        cache.metric(session=session, actor=None, fn=funnel.funnel, metric_filter=march())


def test_a_job_handed_to_another_manager_leaves_the_first_managers_scope_at_once(session: Session, history: History):
    before = cache.metric(session=session, actor=history.m, fn=funnel.funnel, metric_filter=march()).value
    history.job_a.hiring_manager_id = history.n.id
    session.add(history.job_a)
    session.commit()
    after = cache.metric(session=session, actor=history.m, fn=funnel.funnel, metric_filter=march()).value
    assert steps(after) == [0] * len(after.steps) and steps(before)[0] > 0


def test_figures_older_than_the_ttl_are_computed_again(session: Session, history: History, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: clock[0])
    first = cache.metric(session=session, actor=history.admin, fn=funnel.funnel, metric_filter=march())
    clock[0] += cache.TTL - 1
    assert cache.metric(session=session, actor=history.admin, fn=funnel.funnel, metric_filter=march()) is first
    clock[0] += 2
    assert cache.metric(session=session, actor=history.admin, fn=funnel.funnel, metric_filter=march()) is not first


def test_each_filter_is_its_own_entry_and_the_cache_stays_bounded(session: Session, history: History, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    cohort = cache.metric(session=session, actor=history.admin, fn=funnel.funnel, metric_filter=march())
    activity = cache.metric(session=session, actor=history.admin, fn=funnel.funnel, metric_filter=march(basis="event"))
    assert cohort.value.view == "cohort" and activity.value.view == "activity"
    for source in ("referral", "campus", "job_board"):
        cache.metric(session=session, actor=history.admin, fn=funnel.funnel, metric_filter=march(source=source))
    assert len(cache._entries) == 3


def test_figures_read_lately_are_computed_again_before_they_expire(session: Session, history: History, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: clock[0])
    engine = session.get_bind()
    first = cache.metric(session=session, actor=history.m, fn=funnel.funnel, metric_filter=march())
    assert cache.refresh_ahead(engine) == 0  # far from expiring
    clock[0] += cache.TTL - cache.AHEAD + 1
    assert cache.refresh_ahead(engine) == 1
    clock[0] += cache.AHEAD  # past the first computation's end: the refreshed one is served
    again = cache.metric(session=session, actor=history.m, fn=funnel.funnel, metric_filter=march())
    assert again is not first and again.value == first.value


def test_figures_nobody_read_lately_or_whose_reader_lost_the_right_are_left_to_expire(
    session: Session, history: History, monkeypatch
):
    clock = [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: clock[0])
    engine = session.get_bind()
    cache.metric(session=session, actor=history.admin, fn=funnel.funnel, metric_filter=march())
    clock[0] += cache.READ_LATELY + 1
    assert cache.refresh_ahead(engine) == 0
    cache.clear()
    cache.metric(session=session, actor=history.m, fn=funnel.funnel, metric_filter=march())
    history.m.is_active = False
    session.add(history.m)
    session.commit()
    clock[0] += cache.TTL - 1
    assert cache.refresh_ahead(engine) == 0


def test_the_screens_first_view_is_computed_when_the_server_starts(session: Session, history: History) -> None:
    from services.metrics.dashboard import PAGE_METRICS, warm

    assert warm(session.get_bind()) == len(PAGE_METRICS)
    with queries(session) as seen:
        for fn in PAGE_METRICS:
            cache.metric(session=session, actor=history.recruiter, fn=fn, metric_filter=default_filter(utcnow()))
    assert len(seen) == len(PAGE_METRICS)  # each reads the viewer's roles only: the figures were there
