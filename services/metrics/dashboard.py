"""The Metrics screen's figures as one list (the page shows each; the server computes them when it starts, so the
first view is ready at once — services.metrics.cache)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

from models.common import utcnow
from services.metrics import cache, experience, funnel, offer_metrics, sources, speed
from services.metrics.filters import default_filter

PAGE_METRICS: tuple[Callable[..., Any], ...] = (
    funnel.funnel,
    funnel.losses,
    speed.feedback_times,
    speed.scorecard_turnaround,
    speed.stage_durations,
    speed.time_to_offer_and_hire,
    offer_metrics.offer_outcomes,
    offer_metrics.decline_reasons,
    sources.sources,
    experience.experience,
)


def warm(engine: Engine) -> int:
    """Compute the screen's first view (every job, the default period) into this server's cache."""
    return cache.prime(engine, PAGE_METRICS, default_filter(utcnow()))
