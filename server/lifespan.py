"""Work done once per server process: migrate the database, then run the mail and reminder worker and keep the
Metrics screen's figures computed (services.metrics.cache: its first view, and what was read lately).

The server starts even when the database does not answer (PostgreSQL down, a network hiccup at boot): the
pages then say so and /healthz answers 503, while a thread here keeps trying, migrates the database once it is
back and only then starts the worker.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import services.registry  # noqa: F401 - the embedded worker runs every screen's rules
from services.mail.worker import start_embedded
from services.metrics import cache as metrics_cache
from services.metrics.dashboard import warm as warm_metrics
from services.platform.db import database_problem, get_engine, migrate

log = logging.getLogger("followup.server")
RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)


def _prepare(stop: threading.Event, tried: threading.Event, started: dict[str, Any]) -> None:
    """Migrate (retrying with back-off while the database is unavailable), then start the worker."""
    attempt = 0
    while not stop.is_set():
        try:
            migrate()
        except Exception as exc:  # an outage is logged in one line and retried
            tried.set()
            problem = database_problem(exc) or "error"
            delay = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
            log.warning(
                "database %s at start-up (%s: %s); trying again in %.0fs",
                problem,
                type(exc).__name__,
                str(exc).splitlines()[0][:300] if str(exc) else "",
                delay,
            )
            attempt += 1
            stop.wait(delay)
            continue
        tried.set()
        if attempt:
            log.warning("database available again: migrated")
        if not stop.is_set():
            started["worker"] = start_embedded(get_engine())
            started["metrics"] = start_metrics_refresher(stop)
        return


def start_metrics_refresher(stop: threading.Event) -> threading.Thread:
    """The thread that keeps this server's Metrics figures computed ahead of the readers."""
    engine = get_engine()
    thread = threading.Thread(
        target=metrics_cache.run_refresher,
        args=(engine, stop, lambda: warm_metrics(engine)),
        name="followup-metrics",
        daemon=True,
    )
    thread.start()
    return thread


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    stop = threading.Event()
    tried = threading.Event()
    started: dict[str, Any] = {}
    preparing = threading.Thread(target=_prepare, args=(stop, tried, started), name="followup-start", daemon=True)
    preparing.start()
    # The first attempt is awaited, so the first pages find the database migrated when it answers at all.
    await asyncio.to_thread(tried.wait, 120)
    try:
        yield
    finally:
        stop.set()
        await asyncio.to_thread(preparing.join, 10)
        worker = started.get("worker")
        if worker:
            thread, worker_stop = worker
            worker_stop.set()
            await asyncio.to_thread(thread.join, 10)
