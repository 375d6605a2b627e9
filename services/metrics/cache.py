"""A short-lived cache of metric results, keyed by the metric, the filter and the viewer's scope — never by the
viewer alone, and never served before the viewer's right to that metric is checked again.

A manager opening the Metrics screen, changing a filter and changing it back, or a second manager with the same
jobs, is served from here; the figures are at most `TTL` old (the screen says when they were computed and has a
refresh). Figures someone read lately are computed again in the background shortly before they expire
(`refresh_ahead`, run by each app server's metrics thread, server/lifespan.py), and the screen's first view — every
job, the default period — is computed when the server starts (`prime`): at 100,000 candidates a metric takes
seconds, and a manager should not wait for them. Each app server keeps its own cache; nothing is shared through
the database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.common import utcnow
from models.user import User
from services.metrics.filters import MetricFilter
from services.platform.errors import DomainError
from services.platform.policy import SERVICES, Cap, everywhere, job_scope, require_current_cap

T = TypeVar("T")
TTL = 300.0  # seconds: a page's figures may be this old (the screen says so, and has a refresh)
AHEAD = 90.0  # ... and those read lately are computed again this long before they expire
READ_LATELY = 1800.0  # "lately": figures nobody has read for half an hour are left to expire
MAX_ENTRIES = 512  # the least recently used are dropped first beyond this
log = logging.getLogger("followup.metrics")


@dataclass(frozen=True)
class Computed:
    """A metric's result and when it was computed (UTC)."""

    value: Any
    at: datetime


@dataclass
class _Entry:
    expires: float
    computed: Computed
    fn: Callable[..., Any]
    metric_filter: MetricFilter
    options: tuple[tuple[str, Any], ...]
    viewer_id: int  # whose right the background refresh checks (one person of the scope)
    read_at: float


_lock = threading.Lock()
_entries: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()


def metric_name(fn: Callable[..., Any]) -> str:
    """The metric's name in the policy's SERVICES (module.function, e.g. "funnel.funnel")."""
    return f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"


def scope_key(session: Session, user: User | None, fn: Callable[..., Any]) -> tuple[Any, ...]:
    """What the viewer may read of `fn`'s metric: every job, or the ids of the jobs they may (a hiring manager's,
    read now: a job handed to another manager leaves their scope at once). Refuses (NotAllowed) a viewer who may not
    read it, whatever is cached."""
    cap = SERVICES[metric_name(fn)]
    current = require_current_cap(session, user, cap)
    jobs = job_scope(current, cap)
    if jobs is None:
        return ("all", cap.value)
    return ("jobs", cap.value, tuple(sorted(session.execute(jobs).scalars().all())))


def _store(key: tuple[Any, ...], entry: _Entry) -> None:
    with _lock:
        _entries[key] = entry
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def metric(
    *,
    session: Session,
    actor: User | None,
    fn: Callable[..., T],
    metric_filter: MetricFilter,
    options: tuple[tuple[str, Any], ...] = (),
    fresh: bool = False,
) -> Computed:
    """`fn(session=, actor=, metric_filter=, **dict(options))`, or its result computed for the same scope, filter and
    options less than `TTL` seconds ago (`fresh`: compute it again). Changes nothing."""
    key = (metric_name(fn), metric_filter, options, scope_key(session, actor, fn))
    now = time.monotonic()
    if not fresh:
        with _lock:
            hit = _entries.get(key)
            if hit is not None and hit.expires > now:
                hit.read_at = now
                _entries.move_to_end(key)
                return hit.computed
    value = fn(session=session, actor=actor, metric_filter=metric_filter, **dict(options))
    assert actor is not None and actor.id is not None  # scope_key has refused anyone else
    computed = Computed(value, utcnow())
    _store(key, _Entry(now + TTL, computed, fn, metric_filter, options, actor.id, now))
    return computed


def refresh_ahead(engine: Engine) -> int:
    """Compute again the figures read in the last READ_LATELY seconds that expire within AHEAD seconds, each for
    the person who read it (their right and scope checked again: a changed scope is a new key, the old entry then
    expires). Returns how many were computed."""
    now = time.monotonic()
    with _lock:
        due = [
            (key, entry)
            for key, entry in _entries.items()
            if now - entry.read_at <= READ_LATELY and entry.expires - now <= AHEAD
        ]
    done = 0
    for key, entry in due:
        try:
            with Session(engine) as session:
                viewer = session.get(User, entry.viewer_id)
                if scope_key(session, viewer, entry.fn) != key[-1]:
                    continue
                value = entry.fn(
                    session=session, actor=viewer, metric_filter=entry.metric_filter, **dict(entry.options)
                )
        except DomainError:  # the reader lost the right meanwhile: the figures expire unread
            continue
        started = time.monotonic()
        fresh_entry = _Entry(
            started + TTL, Computed(value, utcnow()), entry.fn, entry.metric_filter, entry.options, entry.viewer_id,
            entry.read_at,
        )  # fmt: skip
        _store(key, fresh_entry)
        done += 1
    return done


def prime(engine: Engine, metrics: Sequence[Callable[..., Any]], metric_filter: MetricFilter) -> int:
    """Compute `metrics` for `metric_filter` in the scope of every job (as an active admin or recruiter would read
    them), as if just read: the Metrics screen's first view after a start. Returns how many were computed."""
    with Session(engine) as session:
        people = session.exec(select(User).where(col(User.is_active)).order_by(col(User.id))).all()
        viewer = next((u for u in people if everywhere(u, Cap.view_metrics)), None)
    if viewer is None:
        return 0
    done = 0
    for fn in metrics:
        try:
            with Session(engine) as session:
                metric(session=session, actor=viewer, fn=fn, metric_filter=metric_filter)
            done += 1
        except DomainError:  # a metric for people (per-person figures) this viewer may not read
            continue
    return done


def run_refresher(engine: Engine, stop: threading.Event, warm: Callable[[], None], every: float = 15.0) -> None:
    """The app server's metrics thread: `warm()` once (the first view), then refresh-ahead every `every` seconds
    until `stop`. A failure (the database away) is logged and tried again next round."""
    first = True
    while not stop.is_set():
        try:
            if first:
                warm()
                first = False
            refresh_ahead(engine)
        except Exception:  # the thread must outlive a bad round
            log.exception("metrics refresh failed")
        stop.wait(every)


def clear() -> None:
    """Forget every cached result (tests)."""
    with _lock:
        _entries.clear()
