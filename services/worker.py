"""The background worker: sends due mail and evaluates reminder rules.

It runs inside the app server (one thread per server process, started by the ASGI lifespan) unless
FOLLOWUP_EMBEDDED_WORKER=0, or on its own with `python manage.py worker` (`--once` for one pass).
Any number of workers may run against one database; claiming and reminder keys keep that safe.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.config import Settings, get_settings
from services.db import refresh_statistics
from services.mail import release_held
from services.mailer import send_due
from services.reminders import run_digests, run_reminders
from services.tasks import PROVIDERS  # noqa: F401 - importing registers every area's rules and task providers

log = logging.getLogger("followup.worker")
STATISTICS_INTERVAL = 3600.0  # seconds between refreshes of the query planner's statistics


@dataclass
class PassResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    reminders: dict[str, int] = field(default_factory=dict)
    digests: int = 0
    analysed: list[str] = field(default_factory=list)


class Worker:
    def __init__(self, engine: Engine, settings: Settings | None = None) -> None:
        self.engine = engine
        self.settings = settings or get_settings()
        self._last_rules = 0.0
        self._last_statistics = -STATISTICS_INTERVAL  # refreshed in the first pass with rules, then hourly

    def run_once(self, *, rules: bool = True, max_batches: int = 50) -> PassResult:
        """Send what is due (in batches) and, when `rules`, evaluate reminders and digests."""
        result = PassResult()
        if rules:
            result.reminders = run_reminders(engine=self.engine, settings=self.settings)
            result.digests = run_digests(engine=self.engine, settings=self.settings)
            self._last_rules = time.monotonic()
            if time.monotonic() - self._last_statistics >= STATISTICS_INTERVAL:
                result.analysed = refresh_statistics(self.engine)
                self._last_statistics = time.monotonic()
        with Session(self.engine) as session:
            release_held(session=session)
        for _ in range(max_batches):
            batch = send_due(engine=self.engine, settings=self.settings)
            result.sent += batch.sent
            result.retrying += batch.retrying
            result.failed += batch.failed
            if batch.claimed == 0 or batch.sent == 0:
                break
        return result

    def run_forever(self, stop: threading.Event) -> None:
        """Loop until `stop` is set; an error is logged and the loop goes on."""
        log.info("mail and reminder worker started")
        while not stop.is_set():
            try:
                due_rules = time.monotonic() - self._last_rules >= self.settings.reminder_interval_seconds
                self.run_once(rules=due_rules)
            except Exception:  # the worker must outlive a bad pass (database restart, bad template …)
                log.exception("worker pass failed; trying again shortly")
            stop.wait(self.settings.worker_interval_seconds)
        log.info("mail and reminder worker stopped")


def start_embedded(engine: Engine) -> tuple[threading.Thread, threading.Event] | None:
    """Start the in-process worker thread unless FOLLOWUP_EMBEDDED_WORKER=0; returns it and its stop flag."""
    settings = get_settings()
    if not settings.embedded_worker:
        log.info("embedded worker off (FOLLOWUP_EMBEDDED_WORKER=0)")
        return None
    stop = threading.Event()
    thread = threading.Thread(target=Worker(engine, settings).run_forever, args=(stop,), name="followup-worker",
                              daemon=True)
    thread.start()
    return thread, stop
