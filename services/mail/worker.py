"""The background worker: sends due mail and evaluates reminder rules.

Each step is its own unit of work, committed when it goes through and rolled back when it fails: a reminder
rule's pass, a digest, releasing held mail, claiming a batch of mail, each message's fate, the heartbeat.

It runs inside the app server (one thread per server process, started by the ASGI lifespan) unless
FOLLOWUP_EMBEDDED_WORKER=0, or on its own with `python manage.py worker` (`--once` for one pass).
Any number of workers may run against one database; claiming and reminder keys keep that safe.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from models.common import utcnow
from models.worker import WorkerHeartbeat
from services.mail.mailer import send_due
from services.mail.outbox import release_held
from services.mail.reminders import Scans, run_digests, run_reminders
from services.metrics.facts import refresh_job
from services.platform.config import Settings, get_settings
from services.platform.db import database_problem, refresh_statistics, session_scope, upsert_insert

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
    jobs: dict[str, int] = field(default_factory=dict)
    facts: int = 0  # applications whose metric facts were folded in (-1: the fold failed)


# Housekeeping a screen needs done on the worker's schedule (offers expiring, welcome mails falling due …). A job
# takes the engine and the settings, does its work in its own transactions and returns how many things it did.
# Registered with `@job(name)` when its module is imported (services.registry imports them all).
Job = Callable[..., int]
JOBS: dict[str, Job] = {}


def job(name: str) -> Callable[[Job], Job]:
    """Register `fn(*, engine, settings) -> int` to run with every pass that evaluates reminder rules."""

    def register(fn: Job) -> Job:
        JOBS[name] = fn
        return fn

    return register


def run_jobs(*, engine: Engine, settings: Settings) -> dict[str, int]:
    """Run every registered job; one that fails is logged and the others (and the mail) still go."""
    done: dict[str, int] = {}
    for name, fn in JOBS.items():
        try:
            done[name] = fn(engine=engine, settings=settings)
        except Exception:  # a job's failure must not stop the mail; it is tried again next pass
            log.exception("worker job %s failed", name)
            done[name] = -1
    return done


# After a failed pass (the database away, say) the next one waits twice as long as the last, up to this.
MAX_BACKOFF_SECONDS = 60.0


def worker_name(kind: str, settings: Settings | None = None) -> str:
    """The heartbeat's name: FOLLOWUP_SERVER_NAME (or the host name) and the kind, "worker" or "embedded"."""
    settings = settings or get_settings()
    return f"{settings.server_name or socket.gethostname()}/{kind}"[:120]


def record_heartbeat(*, engine: Engine, name: str, started_at: datetime, error: str = "") -> None:
    """Upsert this worker's row: the time of the pass just finished and its error ("" when it went through)."""
    insert = upsert_insert(engine)
    now = utcnow()
    table = WorkerHeartbeat.__table__  # type: ignore[attr-defined]
    statement = insert(table).values(
        name=name, started_at=started_at, last_pass_at=now, last_error=error[:2000], passes=1
    )
    statement = statement.on_conflict_do_update(
        index_elements=["name"],
        set_={"started_at": started_at, "last_pass_at": now, "last_error": error[:2000], "passes": table.c.passes + 1},
    )
    with engine.begin() as conn:
        conn.execute(statement)


class Worker:
    def __init__(self, engine: Engine, settings: Settings | None = None, *, kind: str = "worker") -> None:
        self.engine = engine
        self.settings = settings or get_settings()
        self._last_rules = 0.0
        self.scans = Scans()  # its reminder passes: incremental between full ones (services.mail.reminders)
        self._last_statistics = -STATISTICS_INTERVAL  # refreshed in the first pass with rules, then hourly
        self.name = worker_name(kind, self.settings)
        self.started_at = utcnow()
        self.failures = 0  # consecutive failed passes; the wait before the next one doubles with each

    def run_once(self, *, rules: bool = True, max_batches: int = 50) -> PassResult:
        """Send what is due (in batches) and, when `rules`, evaluate reminders and digests."""
        result = PassResult()
        try:  # every pass: the Metrics screen's facts kept close to the history (services.metrics.facts)
            result.facts = refresh_job(engine=self.engine)
        except Exception:  # like a job's: must not stop the mail; tried again next pass
            log.exception("metric facts could not be folded in")
            result.facts = -1
        if rules:
            result.reminders = run_reminders(engine=self.engine, settings=self.settings, scans=self.scans)
            result.digests = run_digests(engine=self.engine, settings=self.settings)
            result.jobs = run_jobs(engine=self.engine, settings=self.settings)
            self._last_rules = time.monotonic()
            if time.monotonic() - self._last_statistics >= STATISTICS_INTERVAL:
                result.analysed = refresh_statistics(self.engine)
                self._last_statistics = time.monotonic()
        with session_scope(self.engine) as session:
            release_held(session=session)
        for _ in range(max_batches):
            batch = send_due(engine=self.engine, settings=self.settings)
            result.sent += batch.sent
            result.retrying += batch.retrying
            result.failed += batch.failed
            if batch.claimed == 0 or batch.sent == 0:
                break
        return result

    def beat(self, error: str = "") -> None:
        """Record the heartbeat; a database that cannot take it (the outage that failed the pass) is not an error."""
        try:
            record_heartbeat(engine=self.engine, name=self.name, started_at=self.started_at, error=error)
        except Exception as exc:  # the next pass beats again
            log.debug("heartbeat not recorded: %s", type(exc).__name__)

    def pass_once(self) -> float:
        """One pass of the loop (rules when due, then mail) and its heartbeat; returns how long to wait next:
        the interval, or after failures the interval doubled per failure in a row (at most a minute)."""
        try:
            due_rules = time.monotonic() - self._last_rules >= self.settings.reminder_interval_seconds
            self.run_once(rules=due_rules)
        except Exception as exc:  # the worker must outlive a bad pass (database restart, bad template …)
            self.failures += 1
            wait: float = min(self.settings.worker_interval_seconds * 2**self.failures, MAX_BACKOFF_SECONDS)
            if database_problem(exc) and self.failures > 1:
                log.warning("database still unavailable (%s); next try in %.0fs", type(exc).__name__, wait)
            else:
                log.exception("worker pass failed; next try in %.0fs", wait)
            self.beat(f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}")
            return wait
        if self.failures:
            log.warning("worker pass went through again after %d failed", self.failures)
        self.failures = 0
        self.beat()
        return self.settings.worker_interval_seconds

    def run_forever(self, stop: threading.Event) -> None:
        """Loop until `stop` is set; a failed pass is logged and the loop goes on, backing off while it fails."""
        log.info("mail and reminder worker %s started", self.name)
        while not stop.is_set():
            stop.wait(self.pass_once())
        log.info("mail and reminder worker stopped")


def start_embedded(engine: Engine) -> tuple[threading.Thread, threading.Event] | None:
    """Start the in-process worker thread unless FOLLOWUP_EMBEDDED_WORKER=0; returns it and its stop flag."""
    settings = get_settings()
    if not settings.embedded_worker:
        log.info("embedded worker off (FOLLOWUP_EMBEDDED_WORKER=0)")
        return None
    stop = threading.Event()
    worker = Worker(engine, settings, kind="embedded")
    thread = threading.Thread(target=worker.run_forever, args=(stop,), name="followup-worker", daemon=True)
    thread.start()
    return thread, stop
