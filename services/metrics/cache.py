"""A short-lived cache of metric results, keyed by the metric, the filter and the viewer's scope — never by the
viewer alone, and never served before the viewer's right to that metric is checked again.

A manager opening the Metrics screen, changing a filter and changing it back, or a second manager with the same
jobs, is served from here; the figures are at most `TTL` old (the screen says when they were computed and has a
refresh). Each app server keeps its own; nothing is shared through the database.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlmodel import Session

from models.common import utcnow
from models.user import User
from services.metrics.filters import MetricFilter
from services.platform.policy import SERVICES, job_scope, require_current_cap

T = TypeVar("T")
TTL = 60.0  # seconds: a page's figures may be this old
MAX_ENTRIES = 512  # the oldest are dropped first beyond this (every filter a team tries in a minute fits)


@dataclass(frozen=True)
class Computed:
    """A metric's result and when it was computed (UTC)."""

    value: Any
    at: datetime


_lock = threading.Lock()
_entries: OrderedDict[tuple[Any, ...], tuple[float, Computed]] = OrderedDict()


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


def metric(
    *,
    session: Session,
    actor: User | None,
    fn: Callable[..., T],
    metric_filter: MetricFilter,
    fresh: bool = False,
) -> Computed:
    """`fn(session=, actor=, metric_filter=)`, or its result computed for the same scope and filter less than `TTL`
    seconds ago (`fresh`: compute it again). Changes nothing."""
    key = (metric_name(fn), metric_filter, scope_key(session, actor, fn))
    now = time.monotonic()
    if not fresh:
        with _lock:
            hit = _entries.get(key)
            if hit is not None and hit[0] > now:
                _entries.move_to_end(key)
                return hit[1]
    computed = Computed(value=fn(session=session, actor=actor, metric_filter=metric_filter), at=utcnow())
    with _lock:
        _entries[key] = (now + TTL, computed)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return computed


def clear() -> None:
    """Forget every cached result (tests; a refresh computes its own metrics again with `fresh`)."""
    with _lock:
        _entries.clear()
