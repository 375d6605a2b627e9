"""The onboarding half of the demo: for every application that reached an offer, the offer (in every status, with
its approvals and decline reasons), and for every accepted one the onboarding plan at whatever point today finds
it — tasks and the checklist ticked as far as the days have gone, training sessions, probation check-ins and the
probation outcome — consistent with the interview scores (those who pass scored higher than those who do not).

Called by `services.platform.demo` once an application's history has been moved to its dates, so the dates here
(start dates, deadlines, due dates) are read off the moved stage changes."""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from models.common import add_months
from models.job import Job
from models.mail import MailStatus
from models.onboard import (
    CheckIn,
    ChecklistItem,
    DeclineReason,
    Offer,
    OfferApproval,
    OfferStatus,
    OnboardingPlan,
    OwnerRole,
    PlanStatus,
    PlanTask,
    TrainingSession,
)
from services.mail.outbox import Rendered, render, team_signature
from services.onboard.offers import _pay_text, _token_hash  # the letter's pay line and the link's hash, as sent
from services.platform.config import get_settings
from services.platform.i18n import fmt_date

if TYPE_CHECKING:
    from services.platform.demo import _Demo

# The onboarding tables, parents first, in the order the demo inserts them (after the rest).
ONBOARD_TABLES = (Offer, OfferApproval, OnboardingPlan, PlanTask, ChecklistItem, TrainingSession, CheckIn)
# How the offers of applications still at the offer stage stand today: each open status once first (so that even a
# small demo shows every one), then the list below in turn (a sent offer most often).
OPEN_OFFER_FIRST = [
    OfferStatus.sent,
    OfferStatus.pending_approval,
    OfferStatus.approved,
    OfferStatus.expired,
    OfferStatus.draft,
    OfferStatus.withdrawn,
]
OPEN_OFFER_STATUSES = [
    OfferStatus.sent,
    OfferStatus.pending_approval,
    OfferStatus.sent,
    OfferStatus.approved,
    OfferStatus.expired,
    OfferStatus.sent,
    OfferStatus.draft,
    OfferStatus.pending_approval,
    OfferStatus.sent,
    OfferStatus.withdrawn,
]
# How many days ago an application reached the offer stage, by how its offer stands today: a draft is a day or two
# old, an offer that expired was sent more than its response time ago.
OFFER_AGE: dict[OfferStatus, tuple[float, float]] = {
    OfferStatus.draft: (0.1, 3),
    OfferStatus.pending_approval: (0.5, 4),
    OfferStatus.approved: (1, 5),
    OfferStatus.sent: (1, 8),
    OfferStatus.expired: (14, 25),
    OfferStatus.withdrawn: (4, 20),
}
# Placeholders rendered into the offer letter once per language and probation length, replaced per letter.
_L = {k: f"\x02{k}\x02" for k in ("name", "job", "level", "pay", "start", "location", "deadline", "link", "sender")}
DECLINES = [
    (DeclineReason.compensation, 35),
    (DeclineReason.competing_offer, 25),
    (DeclineReason.counter_offer, 12),
    (DeclineReason.location, 8),
    (DeclineReason.role_level, 8),
    (DeclineReason.personal, 7),
    (DeclineReason.other, 5),
]
LEVELS = ["P5", "P6", "P7", "M1"]
SALARIES = [18000, 22000, 26000, 32000, 38000, 45000, 52000]
TRAININGS = [
    ("新员工入职培训 / New-hire orientation", 0, 10, 3, "培训室 1 / Training room 1"),
    ("产品与业务介绍 / Product introduction", 2, 14, 2, "https://meet.example.com/product"),
    ("信息安全培训 / Information security", 4, 10, 1, "https://meet.example.com/security"),
]


@dataclass
class Template:
    """The default onboarding template as the demo reads it once."""

    template_id: int | None
    tasks: list[dict[str, Any]]
    checklist: list[dict[str, str]]
    checkin_days: list[int]
    staff: list[int] = field(default_factory=list)


def pick(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


class OnboardDemo:
    """Adds the onboarding rows of one application through the demo's buffers (ids handed out by it)."""

    def __init__(self, demo: _Demo, template: Template) -> None:
        self.demo, self.template = demo, template
        self.made = 0  # offers made to applications still at the offer stage
        self.withdrawn = 0  # of those, offers withdrawn (every other one is revised)
        self.letters: dict[tuple[str, int], Rendered] = {}
        self.pay: dict[tuple[str, int, str], str] = {}
        self.days: dict[tuple[date, str], str] = {}  # dates as the letter writes them (Babel is slow per call)
        self.base_url = get_settings().base_url.rstrip("/")

    def next_open_status(self) -> OfferStatus:
        """How the next offer of an application still at the offer stage stands today."""
        n, self.made = self.made, self.made + 1
        if n < len(OPEN_OFFER_FIRST):
            return OPEN_OFFER_FIRST[n]
        return OPEN_OFFER_STATUSES[(n - len(OPEN_OFFER_FIRST)) % len(OPEN_OFFER_STATUSES)]

    def day(self, day: date, lang: str) -> str:
        if (day, lang) not in self.days:
            self.days[(day, lang)] = fmt_date(day, lang)
        return self.days[(day, lang)]

    def letter(
        self, cand: dict[str, Any], row: dict[str, Any], job: Job, owner: int, at: datetime, status: MailStatus
    ) -> None:
        """The offer letter of `row` in the outbox (sent, or a draft waiting to be reviewed), as
        `offers.prepare_offer_letter` writes it, with a private link whose keyed hash the offer keeps."""
        lang = cand["language"]
        months = row["probation_months"]
        body = self.letters.get((lang, months))
        if body is None:
            body = self.letters[(lang, months)] = render(
                "offer_letter",
                lang,
                candidate_name=_L["name"],
                job_title=_L["job"],
                level=_L["level"],
                pay=_L["pay"],
                start_date=_L["start"],
                location=_L["location"],
                probation_months=months,
                deadline=_L["deadline"],
                answer_link=_L["link"],
                sender_name=_L["sender"],
                team_name=team_signature(lang),
                department="",
            )
        pay_key = (lang, int(row["salary_amount"]), row["terms"])
        if pay_key not in self.pay:
            self.pay[pay_key] = _pay_text(
                Offer(
                    application_id=0,
                    job_title="",
                    start_date=row["start_date"],
                    response_deadline=row["response_deadline"],
                    created_by_id=0,
                    salary_amount=Decimal(row["salary_amount"]),
                    terms=row["terms"],
                ),
                lang,
            )
        token = secrets.token_urlsafe(32)  # not from the seed: a demo's links must not be guessable from it
        values = {
            _L["name"]: cand["name"],
            _L["job"]: row["job_title"],
            _L["level"]: row["level"],
            _L["pay"]: self.pay[pay_key],
            _L["start"]: self.day(row["start_date"], lang),
            _L["location"]: row["location"],
            _L["deadline"]: self.day(row["response_deadline"], lang),
            _L["link"]: f"{self.base_url}/?offer={token}",
            _L["sender"]: self.demo.names.get(owner, ""),
        }
        mail = self.demo.mail(
            cand,
            row["application_id"],
            job,
            "offer_letter",
            at,
            owner,
            status,
            body=body,
            values=values,
            can_fail=False,
        )
        row["letter_mail_id"], row["answer_token_hash"] = mail["id"], _token_hash(token)

    def local_day(self, at: datetime) -> date:
        return at.astimezone(self.demo.tz).date()

    def at_local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.demo.tz).astimezone(UTC)

    def offer(
        self,
        app_id: int,
        cand: dict[str, Any],
        job: Job,
        *,
        made_at: datetime,
        status: OfferStatus,
        owner: int,
        manager: int,
        answered_at: datetime | None = None,
        decline: DeclineReason | None = None,
        probation: int | None = None,
        revises: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One offer made after the decision at `made_at`, standing at `status` today; once sent, with its letter
        in the outbox and the keyed hash of the letter's private link (an approved one's letter may wait there as
        a draft)."""
        demo, rng, now = self.demo, self.demo.rng, self.demo.now
        created = min(now - timedelta(minutes=30), demo.after(made_at, 1, 24))
        if revises is not None:  # update_offer: the old revision withdrawn and the new draft made in one go
            created = revises["updated_at"]
        submitted = approved = sent = None
        # Half the withdrawn offers were taken back after the letter went out, the others before.
        withdrawn_sent = status == OfferStatus.withdrawn and rng.random() < 0.5
        if status != OfferStatus.draft:
            submitted = min(now - timedelta(minutes=20), demo.after(created, 0.2, 4))
        if status not in (OfferStatus.draft, OfferStatus.pending_approval):
            approved = min(now - timedelta(minutes=10), demo.after(submitted or created, 1, 30))
        if status in (OfferStatus.sent, OfferStatus.accepted, OfferStatus.declined, OfferStatus.expired) or (
            withdrawn_sent
        ):
            sent = min(now - timedelta(minutes=5), demo.after(approved or created, 0.5, 6))
        if answered_at is not None and sent is not None and answered_at <= sent:
            sent = answered_at - timedelta(hours=rng.uniform(2, 20))
            approved = min(approved or sent, sent - timedelta(hours=1))
            submitted = min(submitted or approved, approved - timedelta(hours=1))
            created = min(created, submitted - timedelta(hours=1))
        base = self.local_day(sent or created)
        deadline = base + timedelta(days=rng.choice([5, 7, 7, 10]))
        today = self.local_day(now)
        if status in (OfferStatus.expired, OfferStatus.withdrawn) and (today - base).days < 3:
            # Too recent to have run out or been taken back (OFFER_AGE makes them older): still out.
            status, sent = OfferStatus.sent, sent or min(now - timedelta(minutes=5), demo.after(created, 0.5, 6))
        if status == OfferStatus.expired:
            deadline = base + timedelta(days=rng.randint(1, (today - base).days - 1))
        elif status in (OfferStatus.sent, OfferStatus.approved, OfferStatus.pending_approval, OfferStatus.draft):
            deadline = max(deadline, self.local_day(now) + timedelta(days=rng.randint(1, 7)))
        start = (self.local_day(answered_at) if answered_at else deadline) + timedelta(days=rng.randint(10, 30))
        contract = rng.choice([36, 36, 36, 24, 12]) if probation is None else 36
        probation = probation or {36: rng.choice([3, 3, 6]), 24: 2, 12: 1}[contract]
        salary = rng.choice(SALARIES)
        if revises is not None:  # revised after the candidate asked for more
            salary = next((s for s in SALARIES if s > revises["salary_amount"]), revises["salary_amount"])
        row: dict[str, Any] = {
            "application_id": app_id,
            "revision": revises["revision"] + 1 if revises else 1,
            "status": status.value,
            "job_title": job.title,
            "level": rng.choice(LEVELS),
            "salary_amount": salary,
            "salary_currency": "CNY",
            "salary_period": "month",
            "terms": "14 薪 / 14 monthly salaries" if rng.random() < 0.5 else "",
            "start_date": start,
            "location": job.location,
            "probation_months": probation,
            "contract_months": contract,
            "response_deadline": deadline,
            "notes": "候选人希望薪资更高，已调整 / pay raised at the candidate's request" if revises else "",
            "created_by_id": owner,
            "created_at": created,
            "updated_at": answered_at or sent or approved or submitted or created,
            "submitted_at": submitted,
            "approved_at": approved,
            "sent_at": sent,
            "answered_at": answered_at,
            "answered_via": (rng.choice(["link", "link", "recorded"]) if answered_at else ""),
            "answered_by_id": None,
            "decline_reason": decline.value if decline else "",
            "decline_text": "对方薪资更高 / a higher offer elsewhere" if decline == DeclineReason.other else "",
            "answer_token_hash": None,
            "letter_mail_id": None,
            "version": 1,
        }
        if row["answered_via"] == "recorded":
            row["answered_by_id"] = owner
        if status == OfferStatus.withdrawn:
            row["updated_at"] = min(now - timedelta(minutes=2), demo.after(row["updated_at"], 2, 72))
        if sent is not None:
            self.letter(cand, row, job, owner, sent, MailStatus.sent)
        elif status == OfferStatus.approved and rng.random() < 0.5:
            drafted = min(now - timedelta(minutes=5), demo.after(approved or created, 0.2, 3))
            self.letter(cand, row, job, owner, drafted, MailStatus.draft)
        offer_id = demo.add(Offer, row)
        if submitted is not None:
            decided = approved if status != OfferStatus.pending_approval else None
            demo.add(
                OfferApproval,
                {
                    "offer_id": offer_id,
                    "approver_id": manager,
                    "decision": "approved" if decided else "",
                    "comment": "同意 / approved" if decided and rng.random() < 0.4 else "",
                    "created_at": submitted,
                    "decided_at": decided,
                },
            )
        demo.audit(created, owner, "offer", offer_id, "create", {"application_id": app_id, "status": "draft"})
        if status != OfferStatus.draft:
            demo.audit(row["updated_at"], owner, "offer", offer_id, "status", {"status": status.value})
        return row

    def plan(
        self,
        app_id: int,
        offer: dict[str, Any],
        *,
        accepted_at: datetime,
        owner: int,
        manager: int,
        outcome: PlanStatus,
        outcome_at: datetime | None,
        quality: float,
    ) -> None:
        """The onboarding plan of an accepted offer, as far as today has got."""
        demo, rng, now = self.demo, self.demo.rng, self.demo.now
        today = self.local_day(now)
        start: date = offer["start_date"]
        if outcome_at is not None:
            # The outcome is recorded around the end of probation: day 1 was that many months before it.
            end_day = self.local_day(outcome_at)
            start = max(
                self.local_day(accepted_at) + timedelta(days=7), add_months(end_day, -offer["probation_months"])
            )
            offer["start_date"] = start
        probation_end = add_months(start, offer["probation_months"])
        status = outcome
        if outcome == PlanStatus.active and probation_end < today:
            # Still in the hired stage past the end: the manager extended the probation when it ran out.
            status = PlanStatus.extended
            outcome_at = min(now - timedelta(hours=1), self.at_local(probation_end, rng.randint(10, 17)))
            probation_end = today + timedelta(days=rng.randint(10, 60))
        buddy = rng.choice(self.template.staff) if self.template.staff and rng.random() < 0.8 else None
        plan_id = demo.add(
            OnboardingPlan,
            {
                "application_id": app_id,
                "offer_id": offer["id"],
                "template_id": self.template.template_id,
                "start_date": start,
                "probation_end": probation_end,
                "hiring_manager_id": manager,
                "recruiter_id": owner,
                "buddy_id": buddy,
                "status": status.value,
                "outcome_at": outcome_at if status != PlanStatus.active else None,
                "outcome_by_id": manager if outcome_at is not None else None,
                "outcome_notes": "再观察一个月 / another month to settle in" if status == PlanStatus.extended else "",
                "link_token_hash": None,
                "link_issued_at": None,
                "link_revoked_at": None,
                "welcome_mail_id": None,
                "created_at": accepted_at,
                "created_by_id": owner,
                "version": 1,
            },
        )
        finished = status in (PlanStatus.passed, PlanStatus.not_passed)
        for position, task in enumerate(self.template.tasks):
            due = start + timedelta(days=task["due_offset_days"])
            done = (
                finished
                or (due < today and rng.random() < 0.9)
                or (due <= today + timedelta(days=3) and rng.random() < 0.3)
            )
            role = task["owner_role"]
            owner_user = {
                OwnerRole.recruiter.value: owner,
                OwnerRole.hiring_manager.value: manager,
                OwnerRole.buddy.value: buddy or manager,
                OwnerRole.new_hire.value: None,
            }.get(role, task.get("owner_user_id") or owner)
            done_at = min(now, self.at_local(min(due, today), rng.randint(9, 18))) if done else None
            demo.add(
                PlanTask,
                {
                    "plan_id": plan_id,
                    "position": position,
                    "title_zh": task["title_zh"],
                    "title_en": task["title_en"],
                    "category": task["category"],
                    "owner_role": role,
                    "owner_user_id": owner_user,
                    "due_offset_days": task["due_offset_days"],
                    "due_date": due,
                    "link_url": task.get("link_url", ""),
                    "material_id": task.get("material_id"),
                    "done_at": done_at,
                    "done_by_id": owner_user if done else None,
                },
            )
        for position, item in enumerate(self.template.checklist):
            ticked = finished or start <= today or (start - today).days < 7 and rng.random() < 0.5
            demo.add(
                ChecklistItem,
                {
                    "plan_id": plan_id,
                    "position": position,
                    "label_zh": item["zh"],
                    "label_en": item["en"],
                    "done_at": min(now, self.at_local(min(start, today), 8) - timedelta(days=rng.randint(0, 5)))
                    if ticked
                    else None,
                },
            )
        for title, offset, hour, hours, place in TRAININGS:
            starts = self.at_local(start + timedelta(days=offset), hour)
            link = place if place.startswith("https://") else ""
            demo.add(
                TrainingSession,
                {
                    "plan_id": plan_id,
                    "title": title,
                    "starts_at": starts,
                    "ends_at": starts + timedelta(hours=hours),
                    "location": "" if link else place,
                    "meeting_link": link,
                    "attendee_ids": ",".join(str(u) for u in {manager, buddy or manager}),
                    "status": "scheduled",
                    "created_by_id": owner,
                    "created_at": accepted_at,
                    "version": 1,
                },
            )
        # Check-in ratings follow how the hire is doing, which the interviews foresaw.
        level = {PlanStatus.passed: 4.1, PlanStatus.extended: 3.0, PlanStatus.not_passed: 2.1}.get(status, 3.8)
        level += (quality - 4.0) * 0.5
        from services.onboard.plans import check_in_days  # the plans' own rule: the days within probation

        for day in check_in_days(self.template.checkin_days, start, probation_end):
            due = start + timedelta(days=day)
            done = due <= today and (finished or rng.random() < 0.9)
            rating = max(1, min(5, round(level + rng.uniform(-0.8, 0.8)))) if done else None
            demo.add(
                CheckIn,
                {
                    "plan_id": plan_id,
                    "day": day,
                    "due_date": due,
                    "manager_id": manager,
                    "rating": rating,
                    "on_track": (rating or 0) >= 3 if done else None,
                    "notes": rng.choice(["进展顺利 / going well", "融入团队较快 / settling in fast", ""])
                    if done
                    else "",
                    "concerns": "" if (rating or 5) >= 3 else "交付速度偏慢 / slow to deliver",
                    "done_at": min(now, self.at_local(due, rng.randint(10, 17))) if done else None,
                    "done_by_id": manager if done else None,
                    "version": 1,
                },
            )


def template_rows(
    tasks: list[Any], checklist: str, checkin_days: str
) -> tuple[list[dict[str, Any]], list[dict[str, str]], list[int]]:
    """A template's tasks, checklist and check-in days as the demo uses them."""
    rows = [
        {
            "title_zh": t.title_zh,
            "title_en": t.title_en,
            "category": t.category,
            "owner_role": t.owner_role,
            "owner_user_id": t.owner_user_id,
            "due_offset_days": t.due_offset_days,
            "link_url": t.link_url,
            "material_id": t.material_id,
        }
        for t in tasks
    ]
    days = [int(d) for d in checkin_days.split(",") if d.strip()]
    return rows, json.loads(checklist or "[]"), days
