"""The onboarding half of the demo: for every application that reached an offer, the offer (in every status, with
its approvals and decline reasons), and for every accepted one the onboarding plan at whatever point today finds
it — tasks and the checklist ticked as far as the days have gone, training sessions, probation check-ins and the
probation outcome — consistent with the interview scores (those who pass scored higher than those who do not).

Called by `services.platform.demo` once an application's history has been moved to its dates, so the dates here
(start dates, deadlines, due dates) are read off the moved stage changes."""

from __future__ import annotations

import calendar
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from models.job import Job
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

if TYPE_CHECKING:
    from services.platform.demo import _Demo

# The onboarding tables, parents first, in the order the demo inserts them (after the rest).
ONBOARD_TABLES = (Offer, OfferApproval, OnboardingPlan, PlanTask, ChecklistItem, TrainingSession, CheckIn)
# How the offers of applications still at the offer stage stand today, taken in turn (a sent offer most often).
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


def add_months(day: date, months: int) -> date:
    """`day` `months` later, on the last day of the month where that month is shorter."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


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

    def local_day(self, at: datetime) -> date:
        return at.astimezone(self.demo.tz).date()

    def at_local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.demo.tz).astimezone(UTC)

    def offer(
        self,
        app_id: int,
        job: Job,
        *,
        made_at: datetime,
        status: OfferStatus,
        owner: int,
        manager: int,
        answered_at: datetime | None = None,
        decline: DeclineReason | None = None,
        probation: int | None = None,
    ) -> dict[str, Any]:
        """One offer made after the decision at `made_at`, standing at `status` today."""
        demo, rng, now = self.demo, self.demo.rng, self.demo.now
        created = min(now - timedelta(minutes=30), demo.after(made_at, 1, 24))
        submitted = approved = sent = None
        if status != OfferStatus.draft:
            submitted = min(now - timedelta(minutes=20), demo.after(created, 0.2, 4))
        if status not in (OfferStatus.draft, OfferStatus.pending_approval):
            approved = min(now - timedelta(minutes=10), demo.after(submitted or created, 1, 30))
        if status in (OfferStatus.sent, OfferStatus.accepted, OfferStatus.declined, OfferStatus.expired):
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
            status = OfferStatus.sent  # too recent to have run out or been taken back
        if status == OfferStatus.expired:
            deadline = base + timedelta(days=rng.randint(1, (today - base).days - 1))
        elif status in (OfferStatus.sent, OfferStatus.approved, OfferStatus.pending_approval, OfferStatus.draft):
            deadline = max(deadline, self.local_day(now) + timedelta(days=rng.randint(1, 7)))
        start = (self.local_day(answered_at) if answered_at else deadline) + timedelta(days=rng.randint(10, 30))
        contract = rng.choice([36, 36, 36, 24, 12]) if probation is None else 36
        probation = probation or {36: rng.choice([3, 3, 6]), 24: 2, 12: 1}[contract]
        salary = rng.choice(SALARIES)
        row: dict[str, Any] = {
            "application_id": app_id,
            "revision": 1,
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
            "notes": "",
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
            status = PlanStatus.extended  # still in the hired stage past the end: the probation was extended
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
                "outcome_notes": "",
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
