"""The weekly metrics digest: a mail on Monday morning with last week's funnel, the share of candidates who heard
from us within 24 hours (and its trend), and what needs attention — the charts as PNG images inside the HTML, the
same numbers as text — for every person who chose it on My account and may read metrics (a hiring manager: of
their own jobs).

Through the outbox like every mail (services.mail.outbox), one key per person and ISO week: a second pass, a
second worker or a run later in the week queues nothing new.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import event, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.candidate import Application
from models.common import utcnow
from models.job import Job
from models.mail import OutboxMessage
from models.onboard import Offer, OfferStatus
from models.user import User
from services.mail.outbox import MAX_ATTACHMENT_BYTES, Attachment, queue_mail, render
from services.mail.worker import job
from services.metrics.charts import Figure, feedback_weeks_figure, funnel_figure, percent
from services.metrics.filters import MetricFilter
from services.metrics.funnel import Funnel, funnel
from services.metrics.images import chart_png
from services.metrics.speed import FeedbackTimes, FeedbackWeek, feedback_times, scorecard_turnaround
from services.platform import audit
from services.platform.config import Settings, get_settings
from services.platform.db import session_scope
from services.platform.errors import NotAllowed
from services.platform.i18n import fmt_date, t
from services.platform.policy import Cap, holds, job_scope, require_current_cap

log = logging.getLogger("followup.metrics.digest")

TEMPLATE = "metrics_digest"
# Due from Monday 08:00 in the company's time zone (settings.tz). People have no time zone of their own in this
# app: the company's is everyone's, so "Monday morning, their time" is Monday morning there.
SEND_HOUR = 8
TREND_WEEKS = 8  # the 24-hour trend's weeks, the week just ended the last
# Digests drawn in one worker pass: each costs a few queries and two charts (a second or so at 100k candidates), and
# the mail waiting behind them should not wait for all; the rest follow in the next passes of the same week.
MAX_PER_PASS = 20


def set_metrics_digest(*, session: Session, actor: User | None, enabled: bool) -> User:
    """Choose (or stop) the weekly metrics digest for oneself; refused to anyone who may not read metrics.
    Audited; sends nothing now (the worker queues the next digest on Monday)."""
    user = require_current_cap(session, actor, Cap.view_metrics)
    before = user.metrics_digest
    user.metrics_digest = bool(enabled)
    session.add(user)
    audit.record(
        session=session,
        actor=user,
        entity="user",
        entity_id=user.id or 0,
        action="update",
        changes={"metrics_digest": [before, user.metrics_digest]},
    )
    session.flush()
    return user


def digest_week(now: datetime, settings: Settings | None = None) -> date | None:
    """The Monday of the week whose digest is due at `now`: the week just ended, from Monday 08:00 (company time)
    until the end of that Sunday — a worker that was down on Monday still sends it on Tuesday. None early on
    Monday, before 08:00: last week's is not due yet, and the week before's time has passed."""
    local = now.astimezone((settings or get_settings()).tz)
    monday = local.date() - timedelta(days=local.weekday())
    if local.weekday() == 0 and local.time() < time(SEND_HOUR):
        return None
    return monday - timedelta(days=7)


def digest_key(user_id: int, week: date) -> str:
    """The outbox key of one person's digest of the week beginning `week` (its ISO week, e.g. 2026-W10)."""
    year, number, _ = week.isocalendar()
    return f"metrics_digest:{user_id}:{year}-W{number:02d}"


@dataclass(frozen=True)
class Attention:
    waiting: int  # interviews of the trend's weeks whose candidate has heard nothing for over 24 hours
    scorecards: int  # scorecards still owed more than 24 hours after their interview (same interviews)
    offers: int  # offers waiting for approval now


@dataclass(frozen=True)
class WeeklyFigures:
    week: date  # its Monday
    funnel: Funnel  # activity: what happened in the week
    feedback: FeedbackTimes  # the trend's weeks
    attention: Attention
    job_titles: list[str] | None  # the reader's jobs (a hiring manager), None for every job

    @property
    def last(self) -> FeedbackWeek:
        return self.feedback.weeks[-1]

    @property
    def before(self) -> FeedbackWeek | None:
        return self.feedback.weeks[-2] if len(self.feedback.weeks) > 1 else None


def _figures(session: Session, user: User, week: date) -> WeeklyFigures:
    """Last week's numbers as `user` may read them (the metric functions check the right and the scope)."""
    sunday = week + timedelta(days=6)
    activity = MetricFilter(start=week, end=sunday, basis="event")
    trend = MetricFilter(start=week - timedelta(days=7 * (TREND_WEEKS - 1)), end=sunday, basis="event")
    steps = funnel(session=session, actor=user, metric_filter=activity)
    feedback = feedback_times(session=session, actor=user, metric_filter=trend)
    turnaround = scorecard_turnaround(session=session, actor=user, metric_filter=trend)
    jobs = job_scope(user, Cap.view_metrics)
    offers: Any = select(func.count()).select_from(Offer).where(col(Offer.status) == OfferStatus.pending_approval)
    titles = None
    if jobs is not None:
        offers = offers.join(Application, col(Application.id) == Offer.application_id).where(
            col(Application.job_id).in_(jobs)
        )
        titles = list(session.exec(select(Job.title).where(col(Job.id).in_(jobs)).order_by(col(Job.title))))
    attention = Attention(
        waiting=feedback.waiting_overdue,
        scorecards=sum(row.open_overdue for row in turnaround),
        offers=int(session.exec(offers).one()),
    )
    return WeeklyFigures(week=week, funnel=steps, feedback=feedback, attention=attention, job_titles=titles)


@dataclass(frozen=True)
class Image:
    figure: Figure
    content_id: str
    png: bytes


def _images(figures: list[Figure], user_id: int, week: date) -> list[Image]:
    """The figures that have something to draw, as PNG with a Content-ID unique to this person's week."""
    year, number, _ = week.isocalendar()
    return [
        Image(f, f"{f.name}-{user_id}-{year}w{number:02d}@metrics-digest", chart_png(f.chart))
        for f in figures
        if f.chart is not None
    ]


def _context(user: User, data: WeeklyFigures, images: list[Image], lang: str) -> dict[str, Any]:
    base = get_settings().base_url.rstrip("/")
    last, before = data.last, data.before
    steps = [
        # No conversion shown where there was nothing to convert (a step before it at 0).
        {
            "label": t(f"metrics.step.{s.step}", lang),
            "count": s.count,
            "conversion": None if s.conversion is None else percent(s.conversion),
        }
        for s in data.funnel.steps
    ]
    return {
        "recipient_name": user.name,
        "start": fmt_date(data.week, lang),
        "end": fmt_date(data.week + timedelta(days=6), lang),
        "jobs": ", ".join(data.job_titles) if data.job_titles is not None else None,
        "steps": steps,
        "heard": {
            "share": percent(last.share),
            "within": last.within_promise,
            "interviews": last.interviews,
            "before": percent(before.share) if before else percent(None),
            "trend": percent(data.feedback.within_promise_share),
            "weeks": TREND_WEEKS,
        },
        "attention": data.attention,
        "images": {image.figure.name: {"cid": image.content_id, "title": image.figure.title} for image in images},
        "links": {
            "metrics": f"{base}/metrics",
            "waiting": f"{base}/follow_up" if holds(user, Cap.follow_up) else f"{base}/metrics",
            "offers": f"{base}/onboard",
        },
    }


def queue_digest(*, session: Session, user: User, week: date) -> OutboxMessage | None:
    """Queue `user`'s digest of the week beginning `week` in the caller's transaction, its charts as inline PNG
    parts; None when it is already queued or `user` may no longer read metrics (deactivated, role removed)."""
    key = digest_key(user.id or 0, week)
    if session.exec(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)).first() is not None:
        return None
    try:
        data = _figures(session, user, week)
    except NotAllowed:
        return None
    lang = user.language
    images = _images([funnel_figure(data.funnel, lang), feedback_weeks_figure(data.feedback, lang)], user.id or 0, week)
    if sum(len(i.png) for i in images) > MAX_ATTACHMENT_BYTES:  # never at these sizes; a mail without them still goes
        images = []
    rendered = render(TEMPLATE, lang, **_context(user, data, images, lang))
    # queue_mail hands back the message already under the key when another worker committed it while the charts
    # were drawn (the check above was before): that one is the other worker's digest, not this one's.
    inserted: list[object] = []
    listener = lambda _session, instance: inserted.append(instance)  # noqa: E731
    event.listen(session, "pending_to_persistent", listener)
    try:
        message = queue_mail(
            session=session,
            to=user.email,
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            key=key,
            attachments=[
                Attachment(f"{i.figure.name}.png", i.png, mime_type="image/png", content_id=i.content_id)
                for i in images
            ],
            recipient_user_id=user.id,
            template=TEMPLATE,
            language=lang,
        )
    finally:
        event.remove(session, "pending_to_persistent", listener)
    return message if any(instance is message for instance in inserted) else None


def _recipients(session: Session, week: date) -> list[int]:
    """The active people who chose the digest, may read metrics and have not got this week's yet."""
    people = session.exec(
        select(User).where(col(User.metrics_digest).is_(True), col(User.is_active).is_(True)).order_by(col(User.id))
    ).all()
    wanted = {digest_key(u.id or 0, week): u.id or 0 for u in people if holds(u, Cap.view_metrics)}
    if not wanted:
        return []
    queued = set(
        session.exec(select(OutboxMessage.idempotency_key).where(col(OutboxMessage.idempotency_key).in_(wanted)))
    )
    return [user_id for key, user_id in wanted.items() if key not in queued]


# A digest that could not be made (its figures failed) is tried again after this long, not on every pass of the
# worker (every few seconds: each try computes the person's figures again and logs a traceback).
RETRY_AFTER = timedelta(hours=1)
_failed: dict[tuple[int, date], datetime] = {}  # (user, week) -> when it last failed, in this process


@job("metrics_digest")
def send_weekly_digests(*, engine: Engine, settings: Settings, now: datetime | None = None) -> int:
    """Queue the digest of the week just ended for everyone who chose it and has not got it (each in its own
    transaction, so one person's failure does not hold up the others); returns how many were queued."""
    at = now or utcnow()
    week = digest_week(at, settings)
    if week is None:
        return 0
    with Session(engine) as session:
        waiting = _recipients(session, week)
    user_ids = [u for u in waiting if at - _failed.get((u, week), at - RETRY_AFTER) >= RETRY_AFTER][:MAX_PER_PASS]
    queued = 0
    for user_id in user_ids:
        try:
            with session_scope(engine) as session:
                # As the database has them now: the role or the choice may have changed since the list was read.
                user = session.get(User, user_id)
                message = None
                if user is not None and user.is_active and user.metrics_digest:
                    message = queue_digest(session=session, user=user, week=week)
        except IntegrityError:  # another worker queued the same key first: it is that one's digest
            log.info("metrics digest of user %s for %s queued by another worker", user_id, week)
            continue
        except Exception:  # one person's digest that cannot be made must not keep the others' from going
            log.exception("metrics digest of user %s for %s not queued; tried again in an hour", user_id, week)
            _failed[(user_id, week)] = at
            continue
        _failed.pop((user_id, week), None)
        queued += message is not None
    return queued
