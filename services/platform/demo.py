"""Realistic demo data at any size: staff, jobs, candidates with Chinese and English names, and for every
application the history a real one leaves behind — interview rounds with panels and scorecards, decisions, stage
changes with real time gaps, contacts, intent, survey answers, the talent pool, mail sent to the candidate and
the audit log.

Rows are built in Python with their ids handed out here and inserted a few thousand at a time (one INSERT per
table and chunk), so 100,000 candidates take minutes, not hours. Every unique constraint the demo could touch
is kept by construction (ids and keys derived from new ids, one pool entry per person, distinct panels), so no
seed value can make it fail."""

from __future__ import annotations

import html
import json
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import insert, text
from sqlmodel import Session, col, func, select

from models.audit import AuditLog
from models.candidate import SOURCES, Application, Candidate, StageChange
from models.common import JobStatus, Language, Role, Stage, phone_digits, utcnow
from models.evaluation import (
    DECISION_REASONS,
    Decision,
    DecisionKind,
    Interview,
    InterviewMode,
    InterviewPanelist,
    InterviewRound,
    InterviewStatus,
    Scorecard,
    ScorecardRating,
    ScorecardStatus,
)
from models.followup import Contact, Intent, PoolEntry, SurveyInvite, SurveyResponse
from models.job import Job
from models.mail import MailStatus, OutboxMessage
from models.onboard import OfferStatus, PlanStatus, TemplateTask
from models.user import User
from services.evaluate.evaluation import criteria_for, ensure_default_rounds
from services.follow_up.followup import STOPPING_OUTCOMES
from services.mail.outbox import Rendered, render, team_signature
from services.platform.auth import hash_password
from services.platform.config import get_settings
from services.platform.demo_onboard import (
    DECLINES,
    OFFER_AGE,
    ONBOARD_TABLES,
    OnboardDemo,
    Template,
    pick,
    template_rows,
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "子涵",
    "欣怡",
    "梓萱",
    "浩然",
    "宇轩",
    "思远",
    "雨桐",
    "嘉怡",
    "俊杰",
]
PINYIN = {"王": "wang", "李": "li", "张": "zhang", "刘": "liu", "陈": "chen", "杨": "yang", "黄": "huang"}
FIRST_EN = [
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "Ethan",
    "Sophia",
    "Lucas",
    "Mia",
    "Mason",
    "Chloe",
    "James",
    "Grace",
    "Daniel",
    "Hannah",
    "Leo",
    "Zoe",
    "Ryan",
    "Nora",
    "Adam",
]
LAST_EN = [
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Miller",
    "Wilson",
    "Moore",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Young",
    "King",
    "Wright",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Carter",
    "Turner",
]
JOBS = [
    ("后端工程师 Backend Engineer", "研发 Engineering", "上海 Shanghai", 3),
    ("前端工程师 Frontend Engineer", "研发 Engineering", "上海 Shanghai", 2),
    ("数据分析师 Data Analyst", "数据 Data", "北京 Beijing", 1),
    ("产品经理 Product Manager", "产品 Product", "北京 Beijing", 1),
    ("测试工程师 QA Engineer", "研发 Engineering", "深圳 Shenzhen", 2),
    ("UI 设计师 UI Designer", "设计 Design", "杭州 Hangzhou", 1),
    ("销售经理 Sales Manager", "销售 Sales", "广州 Guangzhou", 4),
    ("招聘专员 Recruiter", "人力资源 HR", "上海 Shanghai", 1),
    ("运维工程师 SRE", "研发 Engineering", "成都 Chengdu", 2),
    ("财务专员 Accountant", "财务 Finance", "上海 Shanghai", 1),
    ("客户成功经理 Customer Success", "客服 Support", "武汉 Wuhan", 2),
    ("算法工程师 ML Engineer", "数据 Data", "北京 Beijing", 2),
]
TAGS = ["java", "python", "go", "react", "sql", "英语流利", "管理经验", "海外背景", "985", "应届", "b2b", "figma"]
DEMO_USERS = [
    ("admin@example.com", "管理员 Admin", "admin,recruiter", "zh"),
    ("recruiter@example.com", "周敏 Zhou Min", "recruiter", "zh"),
    ("manager@example.com", "Daniel Clark", "hiring_manager", "en"),
    ("interviewer@example.com", "陈静 Chen Jing", "interviewer", "zh"),
    ("recruiter2@example.com", "Grace Hall", "recruiter", "en"),
    ("manager2@example.com", "刘强 Liu Qiang", "hiring_manager,interviewer", "zh"),
    ("interviewer2@example.com", "Ryan Baker", "interviewer", "en"),
]
# Where applications end up, and how often (weights).
OUTCOMES = [
    (Stage.interviewing, 30),
    (Stage.decision_pending, 10),
    (Stage.offer, 6),
    (Stage.hired, 5),
    (Stage.probation_passed, 6),
    (Stage.rejected, 30),
    (Stage.withdrawn, 7),
    (Stage.talent_pool, 6),
]
ACTIVE_OUTCOMES = {Stage.interviewing, Stage.decision_pending, Stage.offer}
CLOSED_OUTCOMES = [stage for stage, _ in OUTCOMES if stage not in ACTIVE_OUTCOMES]
CLOSED_WEIGHTS = [weight for stage, weight in OUTCOMES if stage not in ACTIVE_OUTCOMES]
PATHS = {
    Stage.interviewing: [],
    Stage.decision_pending: [Stage.decision_pending],
    Stage.offer: [Stage.decision_pending, Stage.offer],
    Stage.hired: [Stage.decision_pending, Stage.offer, Stage.hired],
    Stage.probation_passed: [Stage.decision_pending, Stage.offer, Stage.hired, Stage.probation_passed],
    Stage.rejected: [Stage.decision_pending, Stage.rejected],
    Stage.withdrawn: [Stage.withdrawn],
    Stage.talent_pool: [Stage.decision_pending, Stage.talent_pool],
}
REASONS = {
    Stage.rejected: ["专业技能不足 / skills below the bar", "沟通能力欠佳 / communication", "薪资期望过高 / salary"],
    Stage.withdrawn: ["接受了其他 offer / accepted another offer", "个人原因 / personal reasons"],
    Stage.talent_pool: ["优秀但暂无名额 / strong, no headcount", "适合未来岗位 / fits a future role"],
}


# Rounds an application went through before ending where it did (weights for 1, 2, 3, 4 rounds).
ROUNDS_TAKEN: dict[Stage, list[int]] = {
    Stage.interviewing: [5, 3, 2, 0],
    Stage.decision_pending: [4, 4, 2, 0],
    Stage.offer: [0, 1, 5, 4],
    Stage.hired: [0, 1, 5, 4],
    Stage.probation_passed: [0, 1, 5, 4],
    Stage.rejected: [6, 3, 1, 0],
    Stage.withdrawn: [5, 3, 1, 0],
    Stage.talent_pool: [4, 4, 2, 0],
}
QUALITY = {Stage.offer: 4.3, Stage.hired: 4.4, Stage.probation_passed: 4.5, Stage.rejected: 2.3, Stage.talent_pool: 3.4}
STRENGTHS = [
    "基础扎实，思路清晰 / solid fundamentals",
    "沟通顺畅 / communicates well",
    "项目经验丰富 / deep project experience",
]
WEAKNESSES = [
    "系统设计经验较少 / little system design",
    "英文表达一般 / English could be better",
    "缺少团队管理经验 / no people management",
]
SUMMARIES = [
    "电话沟通面试感受，候选人反馈良好 / talked through the interview",
    "微信告知下一步安排 / told them the next step on WeChat",
    "未接通，已发短信 / no answer, texted",
]
LOCATIONS = ["会议室 A / Room A", "https://meet.example.com/abc", "电话"]
COMPANIES = ["字节 ByteCo", "Acme Tech", "云海科技 CloudSea"]
FAMILIES = ["研发 Engineering", "产品 Product", "销售 Sales"]
CHUNK = 20_000  # rows buffered (all tables together) before they are inserted
# Placeholders rendered into each mail template once, then replaced per message (rendering 100,000 mails
# through Jinja would take longer than the rest of the demo together).
_NAME, _JOB, _SENDER = "\x01name\x01", "\x01job\x01", "\x01sender\x01"
# The first candidates, one per case, so that even a tiny demo shows every stage and every board column, and a
# small one every offer status and every probation outcome: (stage, rounds, the board state it is made for, the
# variant — "declined" an offer, probation "not_passed" or "extended").
FIRST: list[tuple[Stage, int, str, str]] = [
    (Stage.interviewing, 1, "awaiting_feedback", ""),
    (Stage.decision_pending, 1, "awaiting_reply", ""),
    (Stage.offer, 3, "decided", ""),
    (Stage.hired, 3, "", ""),
    (Stage.probation_passed, 3, "", ""),
    (Stage.rejected, 1, "", ""),
    (Stage.withdrawn, 1, "", ""),
    (Stage.talent_pool, 2, "", ""),
    (Stage.interviewing, 2, "at_risk", ""),
    (Stage.decision_pending, 1, "in_touch", ""),
    (Stage.decision_pending, 2, "awaiting_feedback", ""),  # a second running clock: the board has more than one
    # The offers still open take the open statuses in turn (demo_onboard.OPEN_OFFER_FIRST): one each.
    (Stage.offer, 3, "", ""),
    (Stage.offer, 2, "", ""),
    (Stage.offer, 3, "", ""),
    (Stage.offer, 4, "", ""),
    (Stage.offer, 3, "", ""),
    (Stage.withdrawn, 2, "", "declined"),
    (Stage.rejected, 3, "", "not_passed"),
    (Stage.hired, 3, "", "extended"),
]
# Tables in the order their rows are inserted (parents first).
TABLES = (
    Candidate,
    Application,
    StageChange,
    Interview,
    InterviewPanelist,
    Scorecard,
    ScorecardRating,
    OutboxMessage,
    Decision,
    Contact,
    Intent,
    SurveyInvite,
    SurveyResponse,
    PoolEntry,
    AuditLog,
    *ONBOARD_TABLES,
)


def _person(rng: random.Random, index: int) -> dict[str, Any]:
    if rng.random() < 0.7:
        surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
        name, lang = surname + given, "zh"
        local = f"{PINYIN.get(surname, 'cand')}{index}"
    else:
        first, last = rng.choice(FIRST_EN), rng.choice(LAST_EN)
        name, lang = f"{first} {last}", "en"
        local = f"{first.lower()}.{last.lower()}{index}"
    domain = rng.choice(["example.com", "example.cn", "mail.example.org"])
    phone = f"+86 1{rng.choice('3456789')}{rng.randint(0, 9)} {index // 10000 % 10000:04d} {index % 10000:04d}"
    return {"name": name, "language": lang, "email": f"{local}@{domain}", "phone": phone}


def seed_demo(*, session: Session, candidates: int, seed: int = 7, password: str = "demo-password-1") -> dict[str, Any]:
    """Add demo staff, jobs and `candidates` candidates with their whole history beside the accounts that exist
    (a demo account whose email is taken is kept as it is, password included); refused once there are
    candidates. Returns the number of rows added per table."""
    if session.exec(select(func.count()).select_from(Candidate)).one():
        raise ValueError("the database already has candidates; seed-demo only adds demo data where there are none")
    ensure_default_rounds(session=session)  # an empty table gets the defaults: the demo's interviews use them
    rng = random.Random(seed)
    now = utcnow()
    staff: dict[str, User] = {u.email: u for u in session.exec(select(User))}
    kept = [email for email, *_ in DEMO_USERS if email in staff]
    pw_hash = hash_password(password)
    for email, name, roles, lang in DEMO_USERS:
        if email not in staff:
            staff[email] = User(email=email, name=name, roles=roles, language=Language(lang), password_hash=pw_hash)
            session.add(staff[email])
    session.flush()
    # Demo accounts that existed keep their roles: fall back on anyone active, so every list has someone.
    everyone = [u.id for u in staff.values() if u.is_active] or [u.id for u in staff.values()]
    managers = [u.id for u in staff.values() if "hiring_manager" in u.roles and u.is_active] or everyone
    jobs = []
    for i, (title, dept, loc, heads) in enumerate(JOBS):
        job = Job(
            title=title,
            department=dept,
            location=loc,
            headcount=heads,
            hiring_manager_id=managers[i % len(managers)],
            status=JobStatus.closed if i == len(JOBS) - 1 else JobStatus.open,
            created_at=now - timedelta(days=400 - i),
            description=f"{title} — demo",
        )
        session.add(job)
        jobs.append(job)
    session.flush()
    demo = _Demo(session, rng, now, staff, jobs, _onboard_template(session, [u for u in everyone if u is not None]))
    for n in range(candidates):
        demo.candidate(n)
        if demo.pending >= CHUNK:
            demo.flush()
    demo.flush()
    if session.get_bind().dialect.name == "postgresql":
        for model in TABLES:
            table = model.__tablename__
            session.exec(
                text(  # type: ignore[call-overload]
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                )
            )
    session.flush()
    counts = {"users": len(staff), "jobs": len(jobs)}
    counts |= {str(model.__tablename__): demo.added[model] for model in TABLES}
    return counts | {
        "candidates": candidates,
        "applications": demo.added[Application],
        "interviews": demo.added[Interview],
        "kept": kept,
    }


def _onboard_template(session: Session, staff: list[int]) -> Template:
    """The default onboarding template, as every demo plan follows it."""
    from services.onboard.plans import ensure_default_template  # the plans' own default: tasks and 入职材料

    template = ensure_default_template(session=session)
    tasks = session.exec(
        select(TemplateTask).where(TemplateTask.template_id == template.id).order_by(col(TemplateTask.position))
    ).all()
    rows, checklist, days = template_rows(list(tasks), template.checklist, template.checkin_days)
    return Template(template.id, rows, checklist, days, staff)


def _ratings(rng: random.Random, quality: float, criteria: list[int]) -> tuple[dict[int, int], str]:
    scores = {c: max(1, min(5, round(quality + rng.uniform(-1.2, 1.2)))) for c in criteria}
    avg = sum(scores.values()) / len(scores)
    rec = "strong_yes" if avg >= 4.2 else "yes" if avg >= 3.3 else "no" if avg >= 2.3 else "strong_no"
    return scores, rec


class _Demo:
    """Builds one candidate at a time: their applications' histories are written forward from a provisional
    start, then moved in whole days (office hours stay office hours) so that each ends where its stage says —
    open applications recently, closed ones any time in the last half year; what depends on today (the
    interview under way, scorecards still missing, intent, survey answers, the pool) is added after."""

    def __init__(
        self,
        session: Session,
        rng: random.Random,
        now: datetime,
        staff: dict[str, User],
        jobs: list[Job],
        template: Template,
    ) -> None:
        self.session, self.rng, self.now, self.jobs = session, rng, now, jobs
        self.tz = get_settings().tz
        self.rows: dict[type, list[dict[str, Any]]] = {model: [] for model in TABLES}
        self.seats: dict[tuple[int, int], dict[str, Any]] = {}  # the current candidate's panel seats, by (iv, user)
        self.next_id: dict[type, int] = {
            model: (session.exec(select(func.max(model.id))).one() or 0) + 1 for model in TABLES
        }
        self.added: dict[type, int] = dict.fromkeys(TABLES, 0)
        self.pending = 0
        self.history: list[dict[str, Any]] = []  # rows of the application being built, moved together
        active = [u for u in staff.values() if u.is_active] or list(staff.values())
        self.names = {u.id: u.name for u in staff.values()}
        self.recruiters = [u.id for u in active if "recruiter" in u.roles] or [u.id for u in active]
        self.panel_pool = cast(
            list[int],  # flushed above: every id is set
            [u.id for u in active if u.has_role(Role.interviewer)] or [u.id for u in active],
        )
        # The demo's recruiter owns the first cases, so that signing in as them shows every board column.
        demo_recruiter = staff.get("recruiter@example.com")
        self.demo_recruiter = (
            demo_recruiter.id
            if demo_recruiter is not None and demo_recruiter.is_active and demo_recruiter.id in self.recruiters
            else self.recruiters[0]
        )
        demo_interviewer = staff["interviewer@example.com"]
        self.demo_interviewer = cast(int, demo_interviewer.id) if demo_interviewer.is_active else self.panel_pool[0]
        rounds = list(
            session.exec(
                select(InterviewRound).where(col(InterviewRound.is_active)).order_by(col(InterviewRound.position))
            )
        )
        self.rounds = [
            (r.id or 0, [c.id or 0 for c in criteria_for(session=session, round_id=r.id or 0, job_id=None)])
            for r in rounds
        ]
        self.mails = {
            (template, lang): render(
                template,
                lang,
                candidate_name=_NAME,
                job_title=_JOB,
                sender_name=_SENDER,
                team_name=team_signature(lang),
                survey_link=f"{get_settings().base_url.rstrip('/')}/?survey=demo",
                days=get_settings().survey_days,
            )
            for template in ("thank_you", "next_round", "rejection", "survey_invite", "reengage")
            for lang in ("zh", "en")
        }
        self.pooled: set[int] = set()
        self.marks: dict[str, dict[str, Any]] = {}  # the application's last stage change into each stage
        self.variant = ""  # "declined" (an offer declined), "not_passed" / "extended" (probation) or ""
        self.offer_status: OfferStatus | None = None  # how the offer of an application at the offer stage stands
        self.declined = DECLINES[0][0]
        self.onboard = OnboardDemo(self, template)
        self.rejection: dict[str, Any] | None = None  # the application's rejection mail, sent or still a draft
        self.bookings: list[dict[str, Any]] = []  # the application's interviews (rows), for its last end
        self.domain = get_settings().mail_from.rsplit("@", 1)[-1] or "localhost"

    # ------------------------------------------------------------------ buffering
    def add(self, model: type, row: dict[str, Any]) -> int:
        row["id"] = rid = self.next_id[model]
        self.next_id[model] += 1
        self.rows[model].append(row)
        self.history.append(row)
        self.pending += 1
        return rid

    def flush(self) -> None:
        for model in TABLES:
            rows = self.rows[model]
            if rows:
                # Core's executemany on the session's connection: the ORM's bulk path splits rows whose nullable
                # columns hold None into one statement each on PostgreSQL (5,000 round trips per 1,000 candidates).
                self.session.connection().execute(insert(model.__table__), rows)  # type: ignore[union-attr]
                self.added[model] += len(rows)
                rows.clear()
        self.pending = 0
        self.seats.clear()

    def audit(
        self, at: datetime, user_id: int | None, entity: str, entity_id: int, action: str, changes: dict[str, Any]
    ) -> None:
        self.add(
            AuditLog,
            {
                "at": at,
                "user_id": user_id,
                "entity": entity,
                "entity_id": entity_id,
                "action": action,
                "changes": json.dumps(changes, ensure_ascii=False, default=str),
            },
        )

    def office(self, at: datetime) -> datetime:
        """`at`'s day at a time in office hours (the company's time zone)."""
        local = at.astimezone(self.tz)
        return local.replace(
            hour=self.rng.randint(9, 17), minute=self.rng.choice([0, 30]), second=0, microsecond=0
        ).astimezone(UTC)

    def after(self, at: datetime, lo_hours: float, hi_hours: float) -> datetime:
        return at + timedelta(hours=self.rng.uniform(lo_hours, hi_hours))

    # ------------------------------------------------------------------ a candidate
    def candidate(self, n: int) -> None:
        rng = self.rng
        cid = self.next_id[Candidate]
        person = _person(rng, cid)
        tags = rng.sample(TAGS, rng.randint(0, 3))
        owner = rng.choice(self.recruiters)
        if n < len(FIRST):
            owner = self.demo_recruiter
        row = {
            "name": person["name"],
            "email": person["email"],
            "phone": person["phone"],
            "wechat_id": f"wx_{cid}" if rng.random() < 0.5 else None,
            "source": rng.choice(SOURCES[:-2]),
            "tags": ("," + ",".join(tags) + ",") if tags else "",
            "owner_id": owner,
            "language": person["language"],
            "consent": True,
            "notes": "",
            "anonymised_at": None,
            "version": 1,
            "heard_at": None,
        }
        row["phone_digits"] = phone_digits(row["phone"])
        row["search_text"] = " ".join(
            x.lower() for x in [row["name"], row["email"], row["phone_digits"], row["wechat_id"] or ""] if x
        )
        self.add(Candidate, row)
        contacts, mails = len(self.rows[Contact]), len(self.rows[OutboxMessage])  # where this candidate's begin
        plan: list[tuple[Job, Stage, int, str, str]] = []
        if n < len(FIRST):
            stage, rounds, board, variant = FIRST[n]
            plan.append((self.jobs[n % (len(self.jobs) - 1)], stage, rounds, board, variant))
        else:
            count = rng.choices([1, 2, 3], [70, 22, 8])[0]
            for job in rng.sample(self.jobs, count):
                stage = rng.choices([s for s, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
                # Real pipelines close old applications: most of them ended long ago; a closed job has no open ones.
                if stage in ACTIVE_OUTCOMES and (job.status == "closed" or rng.random() < 0.75):
                    stage = rng.choices(CLOSED_OUTCOMES, CLOSED_WEIGHTS)[0]
                rounds = rng.choices([1, 2, 3, 4], ROUNDS_TAKEN[stage])[0]
                if stage == Stage.withdrawn and rng.random() < 0.3:
                    rounds = 0  # withdrew before the first interview
                plan.append((job, stage, rounds, "", ""))
        apps = len(self.rows[Application])  # where this candidate's begin
        firsts = [
            self.application(cid, row, job, stage, rounds, board, variant, recent=n < len(FIRST))
            for job, stage, rounds, board, variant in plan
        ]
        # When word last reached them, as the app keeps it (contacts that reached them, mail sent): read once the
        # histories have been moved to their dates; the rows not yet inserted are this candidate's and later.
        heard = [r["at"] for r in self.rows[Contact][contacts:] if r["outcome"] in STOPPING_OUTCOMES]
        heard += [r["sent_at"] for r in self.rows[OutboxMessage][mails:] if r["sent_at"]]
        row["heard_at"] = max(heard, default=None)
        for app in self.rows[Application][apps:]:  # as evaluation.keep_last_interview_end keeps it
            for end, kept in (
                ("last_interview_end", "last_end_unheard"),
                ("previous_interview_end", "previous_end_unheard"),
            ):
                app[kept] = app[end] if app[end] and (row["heard_at"] is None or row["heard_at"] < app[end]) else None
        created = min(firsts) - timedelta(hours=rng.uniform(0.5, 48))
        row |= {"created_at": created, "updated_at": created, "consent_at": created}
        self.audit(
            created,
            owner,
            "candidate",
            cid,
            "create",
            {
                k: row[k]
                for k in ("name", "email", "phone", "wechat_id", "source", "tags", "owner_id", "language", "consent")
            },
        )

    # ------------------------------------------------------------------ an application
    def application(
        self,
        cid: int,
        cand: dict[str, Any],
        job: Job,
        final: Stage,
        rounds: int,
        board: str,
        variant: str,
        recent: bool,
    ) -> datetime:
        """One application's whole history; returns when it began."""
        rng, now = self.rng, self.now
        owner, manager = cand["owner_id"], job.hiring_manager_id or cand["owner_id"]
        app_id = self.next_id[Application]
        self.history, self.rejection, self.bookings, self.marks = [], None, [], {}
        # Some endings went through an offer: a declined one (withdrew), a probation not passed (rejected).
        self.variant = variant
        if not variant and final == Stage.withdrawn and rounds >= 1 and rng.random() < 0.45:
            self.variant = "declined"
        elif not variant and final == Stage.rejected and rounds >= 2 and rng.random() < 0.06:
            self.variant = "not_passed"
        # An offer still open: how it stands today decides how long ago the offer stage was reached.
        self.offer_status = self.onboard.next_open_status() if final == Stage.offer else None
        app = {
            "candidate_id": cid,
            "job_id": job.id,
            "stage": final.value,
            "created_by_id": owner,
            "owner_id": cand["owner_id"],
            "last_interview_end": None,
            "last_end_unheard": None,
            "previous_interview_end": None,
            "previous_end_unheard": None,
        }
        self.add(Application, app)
        t = now - timedelta(days=800)  # provisional; the history is moved to where it belongs below
        first = t
        self.audit(t, owner, "application", app_id, "create", {"candidate_id": cid, "job_id": job.id})
        self.change(app_id, None, Stage.interviewing, t, owner, "")
        stage = Stage.interviewing
        done = rounds - 1 if final == Stage.interviewing else rounds  # rounds wholly in the past
        quality = {"declined": 4.2, "not_passed": 3.5}.get(self.variant) or QUALITY.get(final, rng.uniform(2.3, 4.6))
        ends: list[datetime] = []
        for k in range(done):
            last = k == done - 1
            no_show = last and final == Stage.withdrawn and not self.variant and rng.random() < 0.5
            end, t = self.interview(app_id, cid, cand, job, k, t, quality, no_show=no_show, board=board)
            if no_show:
                break
            ends.append(end)
            if last and final == Stage.withdrawn:
                break
            t = self.after(t, 4, 48)
            self.change(app_id, stage, Stage.decision_pending, t, owner, "")
            stage = Stage.decision_pending
            if not last or final == Stage.interviewing:
                t = self.after(t, 2, 72)
                self.decision(app_id, DecisionKind.advance, t, manager)
                self.change(app_id, stage, Stage.interviewing, t, manager, "meets_bar")
                stage = Stage.interviewing
                if rng.random() < 0.5:
                    t = self.after(t, 1, 8)
                    self.mail(cand, app_id, job, "next_round", t, owner)
        t = self.ending(app_id, cand, job, final, stage, t, owner, manager)
        # Move the history to where it belongs, in whole days.
        if final == Stage.interviewing:
            upcoming = board != "awaiting_feedback" and (board == "at_risk" or rng.random() < 0.25)
            if upcoming:
                starts = self.office(now + timedelta(days=rng.uniform(1, 6)))
                starts += timedelta(days=1) if starts <= now else timedelta()
            else:
                starts = self.office(now - timedelta(hours=rng.uniform(4, 96)))
                while starts + timedelta(hours=1) > now - timedelta(hours=1):
                    starts -= timedelta(days=1)
            target = min(now - timedelta(hours=1), starts - timedelta(days=rng.uniform(1, 6)))
        elif final == Stage.hired:
            # Hired and not through probation yet: accepted within the last few months (or, extended, longer ago
            # than the three months' probation and the weeks before day 1).
            days = (125, 150) if self.variant == "extended" else (1, 100)
            target = now - timedelta(days=rng.uniform(*days))
        elif self.offer_status is not None:
            target = now - timedelta(days=rng.uniform(*OFFER_AGE[self.offer_status]))
        elif final == Stage.decision_pending:
            target = now - timedelta(days=rng.uniform(0.1, 10))
        else:
            target = now - timedelta(days=rng.uniform(1, 10) if recent else rng.uniform(0.05, 180))
        shift = timedelta(days=math.floor((target - t) / timedelta(days=1)))
        for row in self.history:
            for key, value in row.items():
                if isinstance(value, datetime):
                    row[key] = value + shift
        t, first, ends = t + shift, first + shift, [e + shift for e in ends]
        self.history = []
        app |= {"created_at": first, "stage_changed_at": t}
        if final == Stage.interviewing:
            ends += self.current_round(app_id, cid, cand, job, rounds - 1, t, starts, quality, board)
        self.today(app_id, cid, cand, job, final, t, ends, owner, board)
        self.onboarding(app_id, cand, job, final, owner, manager, quality)
        # As evaluation.keep_last_interview_end keeps them: the ends of the last two interviews still on.
        ends = sorted(
            (iv["ends_at"] for iv in self.bookings if iv["status"] == InterviewStatus.scheduled.value), reverse=True
        )
        app["last_interview_end"], app["previous_interview_end"] = (ends + [None, None])[:2]
        return first

    def change(
        self, app_id: int, from_stage: Stage | None, to_stage: Stage, at: datetime, by: int, reason: str
    ) -> dict[str, Any]:
        row = {
            "application_id": app_id,
            "from_stage": from_stage.value if from_stage else None,
            "to_stage": to_stage.value,
            "at": at,
            "by_user_id": by,
            "reason": reason,
        }
        self.add(StageChange, row)
        self.marks[to_stage.value] = row  # moved with the history: onboarding reads the moved times
        if from_stage is not None:
            self.audit(
                at,
                by,
                "application",
                app_id,
                "move_stage",
                {"stage": [from_stage.value, to_stage.value], "reason": reason},
            )
        return row

    def decision(
        self, app_id: int, kind: DecisionKind, at: datetime, by: int, reason: str | None = None
    ) -> dict[str, Any]:
        reason = reason or self.rng.choice([r for r in DECISION_REASONS[kind] if r != "other"])
        row = {
            "application_id": app_id,
            "kind": kind.value,
            "reason_code": reason,
            "reason_text": "",
            "by_user_id": by,
            "at": at,
            "mail_id": None,
        }
        self.add(Decision, row)
        self.audit(at, by, "application", app_id, "decision", {"kind": kind.value, "reason": reason})
        return row

    def mail(
        self,
        cand: dict[str, Any],
        app_id: int | None,
        job: Job,
        template: str,
        at: datetime,
        by: int,
        status: MailStatus = MailStatus.sent,
        *,
        body: Rendered | None = None,
        values: dict[str, str] | None = None,
        can_fail: bool = True,
    ) -> dict[str, Any]:
        """A mail to the candidate: `template` rendered once per language with placeholders (or `body`, rendered
        with the placeholders of `values`), the placeholders replaced by this message's values."""
        lang = cand["language"]
        body = body or self.mails[(template, lang)]
        values = values or {_NAME: cand["name"], _JOB: job.title, _SENDER: self.names.get(by, "")}

        def fill(s: str, escape: bool = False) -> str:
            for key, value in values.items():
                s = s.replace(key, html.escape(value) if escape else value)
            return s

        mid = self.next_id[OutboxMessage]
        row: dict[str, Any] = {}
        failed = can_fail and status == MailStatus.sent and self.rng.random() < 0.01
        sent = status == MailStatus.sent and not failed
        row |= {
            "idempotency_key": f"demo:{template}:{mid}",
            "to_addrs": cand["email"],
            "cc_addrs": "",
            "subject": fill(body.subject),
            "html": fill(body.html, escape=True),
            "text": fill(body.text),
            "template": template,
            "language": lang,
            "candidate_id": cand["id"],
            "application_id": app_id,
            "recipient_user_id": None,
            "created_by_id": by,
            "status": (MailStatus.failed if failed else status).value,
            "attempts": 5 if failed else int(sent),
            "next_attempt_at": at,
            "lease_until": None,
            "claimed_by": None,
            "last_error": "550 5.1.1 mailbox unavailable" if failed else "",
            "message_id": f"<demo-{mid}@{self.domain}>",
            "created_at": at,
            "sent_at": at + timedelta(seconds=self.rng.randint(5, 90)) if sent else None,
            "version": 1,
        }
        self.add(OutboxMessage, row)
        return row

    def contact(
        self,
        cid: int,
        app_id: int,
        at: datetime,
        by: int,
        outcome: str,
        next_days: int | None = None,
        channel: str | None = None,
        summary: str | None = None,
    ) -> None:
        rng = self.rng
        channel = channel or rng.choice(["phone", "wechat", "email"])
        self.add(
            Contact,
            {
                "candidate_id": cid,
                "application_id": app_id,
                "channel": channel,
                "direction": "inbound" if outcome == "replied" else "outbound",
                "outcome": outcome,
                "summary": summary or rng.choice(SUMMARIES),
                "next_contact_at": at + timedelta(days=next_days) if next_days else None,
                "at": at,
                "by_user_id": by,
            },
        )
        self.audit(at, by, "candidate", cid, "contact", {"channel": channel, "outcome": outcome})

    def interview(
        self,
        app_id: int,
        cid: int,
        cand: dict[str, Any],
        job: Job,
        k: int,
        t: datetime,
        quality: float,
        *,
        no_show: bool = False,
        starts: datetime | None = None,
        board: str = "",
    ) -> tuple[datetime, datetime]:
        """Round `k` (scheduled after `t`, or at `starts`): panel, scorecards, a word to the candidate after.
        Returns when it ended and when the last of that happened."""
        rng, now = self.rng, self.now
        owner = cand["owner_id"]
        round_id, criteria = self.rounds[min(k, len(self.rounds) - 1)]
        if starts is None:
            starts = self.office(t + timedelta(days=rng.uniform(1, 6)))
        ends = starts + timedelta(minutes=rng.choice([45, 60, 60, 90]))
        # The board's sample cases have interviewer@ on their panels: their interviews are on My tasks at any size.
        lead = self.demo_interviewer if board or rng.random() < 0.35 else rng.choice(self.panel_pool)
        others = rng.sample(self.panel_pool, min(len(self.panel_pool), rng.randint(0, 2)))
        panel = list(dict.fromkeys([lead, *others]))
        booked = min(
            t + timedelta(hours=rng.uniform(1, 12)),
            starts - timedelta(hours=2),
            now - timedelta(minutes=rng.randint(5, 600)),
        )
        if rng.random() < 0.04 and starts - timedelta(days=1) > booked:  # a slot cancelled and booked again
            self.booking(
                app_id,
                round_id,
                starts - timedelta(days=1),
                ends - timedelta(days=1),
                panel,
                booked,
                owner,
                InterviewStatus.cancelled,
            )
        iv = self.booking(
            app_id,
            round_id,
            starts,
            ends,
            panel,
            booked,
            owner,
            InterviewStatus.no_show if no_show else InterviewStatus.scheduled,
        )
        last = ends
        if no_show or starts > now:
            return ends, max(last, t)
        fresh = ends > now - timedelta(hours=48)  # scorecards of the last two days may still be coming
        for position, uid in enumerate(panel):
            state = "submitted"
            if fresh:
                state = "draft" if board and position == 0 else ["submitted", "draft", "missing"][(position + iv) % 3]
            if state == "missing":
                continue
            split = 1.8 if position == 0 and rng.random() < 0.14 else 0  # a split panel now and then
            scores, rec = _ratings(rng, quality + split, criteria)
            at = self.after(ends, 1, 30)
            if at > now:
                at, state = now - timedelta(minutes=rng.randint(5, 60)), "draft"
            card = self.add(
                Scorecard,
                {
                    "interview_id": iv,
                    "interviewer_id": uid,
                    "application_id": app_id,
                    "status": (ScorecardStatus.submitted if state == "submitted" else ScorecardStatus.draft).value,
                    "recommendation": rec,
                    "strengths": rng.choice(STRENGTHS),
                    "weaknesses": rng.choice(WEAKNESSES),
                    "comments": "",
                    "created_at": at,
                    "updated_at": at,
                    "submitted_at": at if state == "submitted" else None,
                    "version": 1,
                },
            )
            if state == "submitted":
                self.seats.pop((iv, uid))["settled_at"] = at  # the seat's mark, as save_scorecard sets it
            for criterion, score in scores.items():
                self.add(
                    ScorecardRating, {"scorecard_id": card, "criterion_id": criterion, "rating": score, "note": ""}
                )
            last = max(last, at)
        # Word went out after most interviews; only some of the last two days' are still awaiting feedback.
        if board == "awaiting_feedback" or (board == "" and fresh and rng.random() < 0.5):
            return ends, last
        if rng.random() < 0.2:
            at = min(now - timedelta(minutes=30), self.after(ends, 2, 20))
            self.mail(cand, app_id, job, "thank_you", at, owner)
            last = max(last, at)
        if rng.random() < 0.8 or board:
            # The board's sample cases: reached (the clock stops), then for one a message left since.
            outcome = (
                "reached"
                if board
                else rng.choices(["reached", "left_message", "replied", "no_answer"], [6, 2, 2, 1])[0]
            )
            at = min(now - timedelta(minutes=30), self.after(ends, 2, 20))
            self.contact(
                cid, app_id, at, owner, outcome, rng.choice([1, 2, 3]) if not board and rng.random() < 0.2 else None
            )
            if board == "awaiting_reply":
                at = min(now - timedelta(minutes=20), self.after(at, 2, 20))
                self.contact(cid, app_id, at, owner, "left_message")
            last = max(last, at)
        return ends, last

    def booking(
        self,
        app_id: int,
        round_id: int,
        starts: datetime,
        ends: datetime,
        panel: list[int],
        booked: datetime,
        owner: int,
        status: InterviewStatus,
    ) -> int:
        rng = self.rng
        mode, location = rng.choice(list(InterviewMode)).value, rng.choice(LOCATIONS)
        row = {
            "application_id": app_id,
            "round_id": round_id,
            "starts_at": starts,
            "ends_at": ends,
            "mode": mode,
            "location": location,
            "status": status.value,
            "created_by_id": owner,
            "created_at": booked,
            "version": 1,
        }
        iv = self.add(Interview, row)
        self.bookings.append(row)
        for uid in panel:
            # Settled when the card goes in, or at once for a slot cancelled or a no-show (set_interview_status).
            settled = None if status == InterviewStatus.scheduled else min(starts, self.now)
            self.seats[(iv, uid)] = {"interview_id": iv, "user_id": uid, "settled_at": settled, "ends_at": ends}
            self.add(InterviewPanelist, self.seats[(iv, uid)])
        self.audit(
            booked,
            owner,
            "interview",
            iv,
            "create",
            {
                "application_id": app_id,
                "round_id": round_id,
                "starts_at": starts.isoformat(),
                "ends_at": ends.isoformat(),
                "mode": mode,
                "location": location,
                "interviewer_ids": panel,
            },
        )
        if status != InterviewStatus.scheduled:
            self.audit(min(starts, self.now), owner, "interview", iv, status.value, {"reason": ""})
        return iv

    def ending(
        self,
        app_id: int,
        cand: dict[str, Any],
        job: Job,
        final: Stage,
        stage: Stage,
        t: datetime,
        owner: int,
        manager: int,
    ) -> datetime:
        """The moves after the last round, to where the application stands; returns when the last one was."""
        rng = self.rng
        if final == Stage.interviewing:
            return t
        if self.variant == "declined":
            t = self.after(t, 4, 72)
            self.decision(app_id, DecisionKind.offer, t, manager)
            self.change(app_id, stage, Stage.offer, t, manager, "meets_bar")
            t = self.after(t, 24 * 2, 24 * 12)
            self.declined = pick(rng, DECLINES)
            self.change(app_id, Stage.offer, Stage.withdrawn, t, owner, f"offer_declined:{self.declined.value}")
            return t
        if self.variant == "not_passed":
            t = self.after(t, 4, 72)
            self.decision(app_id, DecisionKind.offer, t, manager)
            self.change(app_id, stage, Stage.offer, t, manager, "meets_bar")
            t = self.after(t, 24 * 3, 24 * 25)
            self.change(app_id, Stage.offer, Stage.hired, t, owner, "")
            t = self.after(t, 24 * 90, 24 * 100)
            self.change(app_id, Stage.hired, Stage.rejected, t, manager, "probation_not_passed")
            return t
        if final == Stage.withdrawn:
            t = self.after(t, 12, 240)
            self.change(app_id, stage, Stage.withdrawn, t, owner, rng.choice(REASONS[Stage.withdrawn]))
            return t
        if final == Stage.decision_pending:
            if rng.random() < 0.5:
                self.decision(app_id, DecisionKind.hold, t, manager)
            return t
        t = self.after(t, 4, 72)
        if final == Stage.rejected:
            decided = self.decision(app_id, DecisionKind.reject, t, manager)
            self.change(app_id, stage, Stage.rejected, t, manager, decided["reason_code"])
            # The rejection is drafted for the recruiter; its status is settled once the date is known.
            self.rejection = self.mail(cand, app_id, job, "rejection", t, manager, MailStatus.draft)
            decided["mail_id"] = self.rejection["id"]
            return t
        if final == Stage.talent_pool:
            self.change(app_id, stage, Stage.talent_pool, t, owner, rng.choice(REASONS[Stage.talent_pool]))
            return t
        self.decision(app_id, DecisionKind.offer, t, manager)
        self.change(app_id, stage, Stage.offer, t, manager, "meets_bar")
        if final in (Stage.hired, Stage.probation_passed):
            t = self.after(t, 24 * 3, 24 * 25)
            self.change(app_id, Stage.offer, Stage.hired, t, owner, "")
        if final == Stage.probation_passed:
            t = self.after(t, 24 * 90, 24 * 100)
            self.change(app_id, Stage.hired, Stage.probation_passed, t, owner, "")
        return t

    def current_round(
        self,
        app_id: int,
        cid: int,
        cand: dict[str, Any],
        job: Job,
        k: int,
        t: datetime,
        starts: datetime,
        quality: float,
        board: str,
    ) -> list[datetime]:
        """The round under way (booked after the move at `t`): upcoming, or ended with scorecards coming in."""
        ends, _ = self.interview(app_id, cid, cand, job, k, t, quality, starts=starts, board=board)
        return [ends] if ends <= self.now else []

    def today(
        self,
        app_id: int,
        cid: int,
        cand: dict[str, Any],
        job: Job,
        final: Stage,
        t: datetime,
        ends: list[datetime],
        owner: int,
        board: str,
    ) -> None:
        """What depends on today's date: mail still in draft, intent, survey answers, the talent pool."""
        rng, now = self.rng, self.now
        mail = self.rejection
        if mail is not None and mail["created_at"] < now - timedelta(days=3):
            # Reviewed and sent: only the last days' rejections still wait in draft.
            mail |= {
                "status": MailStatus.sent.value,
                "attempts": 1,
                "sent_at": min(now, self.after(mail["created_at"], 1, 30)),
            }
        if ends and (final in ACTIVE_OUTCOMES or rng.random() < 0.2):
            versions = rng.randint(1, 3) if final in ACTIVE_OUTCOMES else 1
            at = ends[0]
            for version in range(1, versions + 1):
                at = min(now - timedelta(minutes=10), self.after(at, 2, 72))
                live = final in ACTIVE_OUTCOMES and version == versions
                offers, deadline = [], None
                if live and (board == "at_risk" or (board == "" and (final == Stage.offer or rng.random() < 0.25))):
                    deadline = (now + timedelta(days=1 if board else rng.randint(1, 10))).date()
                    offers = [{"company": rng.choice(COMPANIES), "stage": "offer", "deadline": deadline.isoformat()}]
                interest = {"": rng.choice([2, 3, 4, 4, 5]), "at_risk": 2}.get(board, 4)
                self.add(
                    Intent,
                    {
                        "application_id": app_id,
                        "version": version,
                        "interest": interest,
                        "expected_salary": rng.choice([18000, 25000, 32000, 45000]),
                        "earliest_start": None,
                        "decision_deadline": (at + timedelta(days=14)).date(),
                        "notes": "",
                        "offers": json.dumps(offers, ensure_ascii=False),
                        "nearest_offer_deadline": deadline,
                        "at": at,
                        "by_user_id": owner,
                    },
                )
                self.audit(
                    at,
                    owner,
                    "application",
                    app_id,
                    "intent",
                    {"interest": interest, "offers": len(offers), "version": version},
                )
        if final != Stage.interviewing and ends and rng.random() < 0.35:
            invited = self.after(t, 2, 48)
            if invited < now:
                mail_id = self.mail(cand, app_id, job, "survey_invite", invited, owner)["id"]
                used = self.after(invited, 1, 24 * 5)
                answered = rng.random() < 0.55 and used < now
                invite = self.add(
                    SurveyInvite,
                    {
                        "token_hash": f"demo-{self.next_id[SurveyInvite]}",
                        "application_id": app_id,
                        "stage": final.value,
                        "created_at": invited,
                        "expires_at": invited + timedelta(days=14),
                        "used_at": used if answered else None,
                        "mail_id": mail_id,
                    },
                )
                if answered:
                    happy = final in (Stage.offer, Stage.hired, Stage.probation_passed)
                    self.add(
                        SurveyResponse,
                        {
                            "invite_id": invite,
                            "job_id": job.id,
                            "stage": final.value,
                            "nps": rng.randint(7, 10) if happy else rng.randint(3, 9),
                            "clarity": rng.randint(3, 5),
                            "respect": rng.randint(2, 5),
                            "treatment": rng.randint(3, 5),
                            "at": used,
                            "comment": rng.choice(["", "流程很顺畅 / smooth process", "等待时间有点长 / long wait"]),
                        },
                    )
        if final == Stage.talent_pool and cid not in self.pooled:
            # One pool entry per person, though two of their applications may have ended in the pool.
            self.pooled.add(cid)
            reason = "能力不错，暂无合适名额 / strong, no headcount"
            revisit = (max(now, t + timedelta(days=90)) + timedelta(days=rng.randint(-30, 60))).date()
            self.add(
                PoolEntry,
                {
                    "candidate_id": cid,
                    "reason": reason,
                    "job_family": rng.choice(FAMILIES),
                    "revisit_on": revisit,
                    "added_by_id": owner,
                    "added_at": t,
                    "status": "active",
                },
            )
            self.audit(t, owner, "candidate", cid, "pool_add", {"reason": reason, "revisit_on": revisit.isoformat()})
            reengaged = self.after(t, 24 * 30, 24 * 120)
            if reengaged < now and rng.random() < 0.3:
                self.mail(cand, None, job, "reengage", reengaged, owner)
        if final == Stage.rejected and rng.random() < 0.4:
            self.contact(
                cid,
                app_id,
                min(now - timedelta(minutes=5), self.after(t, 1, 48)),
                owner,
                "reached",
                channel="phone",
                summary="电话告知结果 / told them the outcome by phone",
            )

    def onboarding(
        self, app_id: int, cand: dict[str, Any], job: Job, final: Stage, owner: int, manager: int, quality: float
    ) -> None:
        """The offer and onboarding of an application that reached an offer, read off its moved stage changes."""
        made = self.marks.get(Stage.offer.value)
        if made is None:
            return
        od = self.onboard
        if self.offer_status is not None:
            # Taken in turn (application), so that a small demo has an offer in every open status.
            first = od.offer(
                app_id, cand, job, made_at=made["at"], status=self.offer_status, owner=owner, manager=manager
            )
            if first["status"] == OfferStatus.withdrawn and od.withdrawn % 2 == 0:
                # Every other one taken back to be revised: its second revision is a draft (versioned offers).
                od.offer(
                    app_id,
                    cand,
                    job,
                    made_at=made["at"],
                    status=OfferStatus.draft,
                    owner=owner,
                    manager=manager,
                    revises=first,
                )
            od.withdrawn += first["status"] == OfferStatus.withdrawn
            return
        if self.variant == "declined":
            end = self.marks[Stage.withdrawn.value]["at"]
            od.offer(
                app_id,
                cand,
                job,
                made_at=made["at"],
                status=OfferStatus.declined,
                owner=owner,
                manager=manager,
                answered_at=end,
                decline=self.declined,
            )
            return
        hired = self.marks.get(Stage.hired.value)
        if hired is None:
            return
        closed = {Stage.probation_passed: PlanStatus.passed, Stage.rejected: PlanStatus.not_passed}.get(final)
        offer = od.offer(
            app_id,
            cand,
            job,
            made_at=made["at"],
            status=OfferStatus.accepted,
            owner=owner,
            manager=manager,
            answered_at=hired["at"],
            probation=3 if closed or self.variant == "extended" else None,
        )
        od.plan(
            app_id,
            offer,
            accepted_at=hired["at"],
            owner=owner,
            manager=manager,
            outcome=closed or PlanStatus.active,
            outcome_at=self.marks[final.value]["at"] if closed else None,
            quality=quality,
        )
