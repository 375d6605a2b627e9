"""Realistic demo data: staff, jobs, candidates with Chinese and English names, applications in every stage."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import Session, func, select

from models.candidate import SOURCES, Application, Candidate, StageChange
from models.common import Role, Stage, phone_digits, utcnow
from models.evaluation import (
    Criterion,
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
from models.user import User
from services.auth import hash_password
from services.config import get_settings
from services.evaluation import criteria_for, ensure_default_rounds

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
         "超", "秀兰", "霞", "平", "刚", "桂英", "子涵", "欣怡", "梓萱", "浩然", "宇轩", "思远", "雨桐", "嘉怡", "俊杰"]
PINYIN = {"王": "wang", "李": "li", "张": "zhang", "刘": "liu", "陈": "chen", "杨": "yang", "黄": "huang"}
FIRST_EN = ["Emma", "Liam", "Olivia", "Noah", "Ava", "Ethan", "Sophia", "Lucas", "Mia", "Mason", "Chloe", "James",
            "Grace", "Daniel", "Hannah", "Leo", "Zoe", "Ryan", "Nora", "Adam"]
LAST_EN = ["Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Moore", "Clark", "Lewis", "Walker", "Hall",
           "Young", "King", "Wright", "Green", "Baker", "Adams", "Nelson", "Carter", "Turner"]
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
    (Stage.interviewing, 30), (Stage.decision_pending, 10), (Stage.offer, 6), (Stage.hired, 5),
    (Stage.probation_passed, 6), (Stage.rejected, 30), (Stage.withdrawn, 7), (Stage.talent_pool, 6),
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


def seed_demo(*, session: Session, candidates: int, seed: int = 7, password: str = "demo-password-1") -> dict:
    """Add demo staff, jobs and `candidates` candidates beside the accounts that exist (a demo account whose
    email is taken is kept as it is, password included); refused once there are candidates."""
    if session.exec(select(func.count()).select_from(Candidate)).one():
        raise ValueError("the database already has candidates; seed-demo only adds demo data where there are none")
    rng = random.Random(seed)
    now = utcnow()
    staff: dict[str, User] = {u.email: u for u in session.exec(select(User))}
    kept = [email for email, *_ in DEMO_USERS if email in staff]
    pw_hash = hash_password(password)
    for email, name, roles, lang in DEMO_USERS:
        if email not in staff:
            staff[email] = User(email=email, name=name, roles=roles, language=lang, password_hash=pw_hash)
            session.add(staff[email])
    session.flush()
    # Demo accounts that existed keep their roles: fall back on anyone active, so every list has someone.
    everyone = [u.id for u in staff.values() if u.is_active] or [u.id for u in staff.values()]
    recruiters = [u.id for u in staff.values() if "recruiter" in u.roles and u.is_active] or everyone
    managers = [u.id for u in staff.values() if "hiring_manager" in u.roles and u.is_active] or everyone
    jobs = []
    for i, (title, dept, loc, heads) in enumerate(JOBS):
        job = Job(title=title, department=dept, location=loc, headcount=heads,
                  hiring_manager_id=managers[i % len(managers)], status="closed" if i == len(JOBS) - 1 else "open",
                  created_at=now - timedelta(days=120 - i), description=f"{title} — demo")
        session.add(job)
        jobs.append(job)
    session.flush()
    cand_rows, app_rows, change_rows = [], [], []
    start_id = (session.exec(select(func.max(Candidate.id))).one() or 0) + 1
    app_id = (session.exec(select(func.max(Application.id))).one() or 0) + 1
    outcomes, weights = zip(*OUTCOMES, strict=True)
    recent: list[tuple[int, Stage, datetime, datetime, int]] = []
    for n in range(candidates):
        cid = start_id + n
        person = _person(rng, cid)
        created = now - timedelta(days=rng.uniform(0, 180), minutes=rng.randint(0, 1440))
        tags = rng.sample(TAGS, rng.randint(0, 3))
        row = {"id": cid, "name": person["name"], "email": person["email"], "phone": person["phone"],
               "wechat_id": f"wx_{cid}" if rng.random() < 0.5 else None, "source": rng.choice(SOURCES[:-2]),
               "tags": ("," + ",".join(tags) + ",") if tags else "", "owner_id": rng.choice(recruiters),
               "language": person["language"], "consent": True, "consent_at": created, "notes": "",
               "created_at": created, "updated_at": created, "version": 1}
        row["phone_digits"] = phone_digits(row["phone"])
        row["search_text"] = " ".join(
            x.lower() for x in [row["name"], row["email"], row["phone_digits"], row["wechat_id"] or ""] if x)
        cand_rows.append(row)
        for job in rng.sample(jobs[:-1], 1 if rng.random() < 0.85 else 2):
            final = rng.choices(outcomes, weights)[0]
            if n < len(OUTCOMES):
                # The first few candidates cover every stage, so even a tiny demo shows each one.
                final, created = OUTCOMES[n][0], now - timedelta(days=rng.uniform(8, 30))
            elif final in ACTIVE_OUTCOMES and created < now - timedelta(days=45):
                # Real pipelines close old applications; only recent ones are still open.
                final = rng.choices(CLOSED_OUTCOMES, CLOSED_WEIGHTS)[0]
            at = created + timedelta(hours=rng.randint(1, 72))
            change_rows.append({"application_id": app_id, "from_stage": None, "to_stage": "interviewing",
                                "at": at, "by_user_id": row["owner_id"], "reason": ""})
            prev = Stage.interviewing
            for stage in PATHS[final]:
                at = min(now, at + timedelta(days=rng.uniform(1, 12)))
                change_rows.append({"application_id": app_id, "from_stage": prev.value, "to_stage": stage.value,
                                    "at": at, "by_user_id": row["owner_id"],
                                    "reason": rng.choice(REASONS.get(stage, [""]))})
                prev = stage
            app_rows.append({"id": app_id, "candidate_id": cid, "job_id": job.id, "stage": final.value,
                             "stage_changed_at": at, "created_at": created, "created_by_id": row["owner_id"]})
            if created > now - timedelta(days=40) and len(recent) < INTERVIEWED_APPS:
                recent.append((app_id, final, created, at, row["owner_id"]))
            app_id += 1
        if len(cand_rows) >= 5000:
            _flush(session, cand_rows, app_rows, change_rows)
    _flush(session, cand_rows, app_rows, change_rows)
    interviews = _seed_interviews(session, rng, now, recent, staff)
    _seed_followup(session, rng, now, recent)
    if session.get_bind().dialect.name == "postgresql":
        for table in ("candidate", "application"):
            session.exec(text(  # type: ignore[call-overload]
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"))
    session.commit()
    return {"users": len(staff), "jobs": len(jobs), "candidates": candidates, "applications": app_id - 1,
            "interviews": interviews, "kept": kept}


def _flush(session: Session, cands: list, apps: list, changes: list) -> None:
    for model, rows in ((Candidate, cands), (Application, apps), (StageChange, changes)):
        if rows:
            session.exec(insert(model), params=rows)  # type: ignore[call-overload]
            rows.clear()


INTERVIEWED_APPS = 400  # recent applications that get interviews and scorecards


def _ratings(rng: random.Random, quality: float, criteria: list[Criterion]) -> tuple[dict[int, int], str]:
    scores = {c.id or 0: max(1, min(5, round(quality + rng.uniform(-1.2, 1.2)))) for c in criteria}
    avg = sum(scores.values()) / len(scores)
    rec = "strong_yes" if avg >= 4.2 else "yes" if avg >= 3.3 else "no" if avg >= 2.3 else "strong_no"
    return scores, rec


def _seed_interviews(session: Session, rng: random.Random, now: datetime,
                     recent: list[tuple[int, Stage, datetime, datetime, int]], staff: dict[str, User]) -> int:
    """Interviews and scorecards in every state for recent applications: upcoming, awaiting scorecards,
    drafts, submitted (agreeing and split panels), cancelled and no-shows, and the decisions that followed."""
    if not recent:
        return 0
    ensure_default_rounds(session=session)
    tz = get_settings().tz
    rounds = list(session.exec(select(InterviewRound).order_by(InterviewRound.position)))
    criteria = {r.id: criteria_for(session=session, round_id=r.id or 0, job_id=None) for r in rounds}
    panel_pool = [u.id for u in staff.values() if u.has_role(Role.interviewer)] or [u.id for u in staff.values()]
    demo_interviewer = staff["interviewer@example.com"].id
    count = 0
    strengths = ["基础扎实，思路清晰 / solid fundamentals", "沟通顺畅 / communicates well",
                 "项目经验丰富 / deep project experience"]
    weaknesses = ["系统设计经验较少 / little system design", "英文表达一般 / English could be better",
                  "缺少团队管理经验 / no people management"]
    for index, (app_id, final, created, last, owner_id) in enumerate(recent):
        rnd = rounds[1 if index % 3 else 0]
        panel = list(dict.fromkeys([demo_interviewer if index % 2 == 0 else rng.choice(panel_pool),
                                    rng.choice(panel_pool)]))
        if final == Stage.interviewing and index % 4 == 0:
            starts = now + timedelta(days=rng.randint(1, 6), hours=rng.randint(-3, 3))  # upcoming
        elif final == Stage.interviewing:
            starts = now - timedelta(hours=rng.randint(3, 96))  # ended, scorecards coming in
        else:
            starts = min(last - timedelta(days=1), created + timedelta(days=2))
        # Office hours in the company's time zone.
        local = starts.astimezone(tz)
        starts = local.replace(hour=9 + (index * 5) % 9, minute=0, second=0, microsecond=0).astimezone(UTC)
        status = InterviewStatus.scheduled
        if final == Stage.withdrawn and index % 2:
            status = InterviewStatus.no_show
        elif index % 23 == 5:
            status = InterviewStatus.cancelled
        interview = Interview(application_id=app_id, round_id=rnd.id or 0, starts_at=starts,
                              ends_at=starts + timedelta(minutes=60), mode=rng.choice(list(InterviewMode)),
                              location=rng.choice(["会议室 A / Room A", "https://meet.example.com/abc", "电话"]),
                              status=status, created_by_id=owner_id)
        session.add(interview)
        session.flush()
        count += 1
        for uid in panel:
            session.add(InterviewPanelist(interview_id=interview.id or 0, user_id=uid))
        if status != InterviewStatus.scheduled or starts > now:
            continue
        quality = {Stage.offer: 4.3, Stage.hired: 4.4, Stage.probation_passed: 4.5, Stage.rejected: 2.3,
                   Stage.talent_pool: 3.4}.get(final, rng.uniform(2.3, 4.6))
        for position, uid in enumerate(panel):
            state = "submitted"
            if final == Stage.interviewing:
                state = ["submitted", "draft", "missing"][(index + position) % 3]
            if state == "missing":
                continue
            panel_quality = quality + (1.8 if index % 7 == 0 and position == 0 else 0)  # a split panel now and then
            scores, rec = _ratings(rng, panel_quality, criteria[rnd.id])
            at = interview.ends_at + timedelta(hours=rng.randint(1, 30))
            card = Scorecard(interview_id=interview.id or 0, interviewer_id=uid, application_id=app_id,
                             status=ScorecardStatus.submitted if state == "submitted" else ScorecardStatus.draft,
                             recommendation=rec, strengths=rng.choice(strengths), weaknesses=rng.choice(weaknesses),
                             created_at=at, updated_at=at, submitted_at=at if state == "submitted" else None)
            session.add(card)
            session.flush()
            for cid, score in scores.items():
                session.add(ScorecardRating(scorecard_id=card.id or 0, criterion_id=cid, rating=score))
        kind = {Stage.offer: DecisionKind.offer, Stage.hired: DecisionKind.offer,
                Stage.probation_passed: DecisionKind.offer, Stage.rejected: DecisionKind.reject,
                Stage.decision_pending: DecisionKind.hold}.get(final)
        if kind:
            reason = {DecisionKind.offer: "meets_bar", DecisionKind.reject: "skills_below_bar",
                      DecisionKind.hold: "waiting_other_candidates"}[kind]
            session.add(Decision(application_id=app_id, kind=kind, reason_code=reason, by_user_id=owner_id,
                                 at=min(starts + timedelta(days=1), now)))
    session.flush()
    return count


def _seed_followup(session: Session, rng: random.Random, now: datetime,
                   recent: list[tuple[int, Stage, datetime, datetime, int]]) -> None:
    """Contacts, intent with competing offers, survey answers and talent-pool entries for recent applications,
    so that every column of the follow-up board and the survey results have something in them."""
    summaries = ["电话沟通面试感受，候选人反馈良好 / talked through the interview",
                 "微信告知下一步安排 / told them the next step on WeChat", "未接通，已发短信 / no answer, texted"]
    ended = dict(session.exec(select(Interview.application_id, func.max(Interview.ends_at))
                              .where(Interview.status == InterviewStatus.scheduled, Interview.ends_at <= now)
                              .group_by(Interview.application_id)).all())
    pooled: set[int] = set(session.exec(select(PoolEntry.candidate_id)))
    for index, (app_id, final, _created, last, owner_id) in enumerate(recent):
        app = session.get(Application, app_id)
        if app is None:
            continue
        end = ended.get(app_id)
        # Word went out after most interviews; only some of the last day's are still awaiting feedback.
        if end is None or end < now - timedelta(hours=40) or index % 2:
            outcome = ["reached", "left_message", "replied", "no_answer"][index % 4]
            at = min(now - timedelta(minutes=30), max(last, end or last) + timedelta(hours=rng.randint(2, 20)))
            session.add(Contact(candidate_id=app.candidate_id, application_id=app_id,
                                channel=["phone", "wechat", "email"][index % 3], direction="outbound",
                                outcome=outcome, summary=summaries[index % 3], at=at, by_user_id=owner_id,
                                next_contact_at=at + timedelta(days=rng.choice([1, 2, 3])) if index % 5 == 0 else None))
        if final in (Stage.interviewing, Stage.decision_pending, Stage.offer) and index % 2 == 0:
            deadline = (now + timedelta(days=rng.randint(1, 10))).date()
            offers = [{"company": rng.choice(["字节 ByteCo", "Acme Tech", "云海科技 CloudSea"]), "stage": "offer",
                       "deadline": deadline.isoformat()}] if index % 4 == 0 else []
            session.add(Intent(application_id=app_id, interest=rng.choice([2, 3, 4, 4, 5]),
                               expected_salary=rng.choice([18000, 25000, 32000, 45000]),
                               decision_deadline=(now + timedelta(days=14)).date(),
                               offers=json.dumps(offers, ensure_ascii=False),
                               nearest_offer_deadline=deadline if offers else None,
                               at=min(now, last + timedelta(days=1)), by_user_id=owner_id))
        if final not in (Stage.interviewing,) and index % 2 == 1:
            invite = SurveyInvite(token_hash=f"demo-{app_id}", application_id=app_id, stage=final.value,
                                  created_at=last, expires_at=last + timedelta(days=14), used_at=last)
            session.add(invite)
            session.flush()
            happy = final in (Stage.offer, Stage.hired, Stage.probation_passed)
            session.add(SurveyResponse(invite_id=invite.id or 0, job_id=app.job_id, stage=final.value,
                                       nps=rng.randint(7, 10) if happy else rng.randint(3, 9),
                                       clarity=rng.randint(3, 5), respect=rng.randint(2, 5),
                                       treatment=rng.randint(3, 5), at=last,
                                       comment=rng.choice(["", "流程很顺畅 / smooth process",
                                                           "等待时间有点长 / long wait"])))
        if final == Stage.talent_pool and app.candidate_id not in pooled:
            # One pool entry per person, though two of their applications may have ended in the pool.
            pooled.add(app.candidate_id)
            session.add(PoolEntry(candidate_id=app.candidate_id, reason="能力不错，暂无合适名额 / strong, no headcount",
                                  job_family=rng.choice(["研发 Engineering", "产品 Product", "销售 Sales"]),
                                  revisit_on=(now + timedelta(days=rng.randint(-3, 60))).date(),
                                  added_by_id=owner_id, added_at=last))
    session.flush()
