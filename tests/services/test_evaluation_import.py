"""Interview import: a good file schedules every row; one bad row schedules none and names the row and the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.common import Stage
from models.evaluation import Interview, InterviewPanelist
from models.user import User
from services.evaluate import interview_import
from services.pipeline.candidates import move_stage
from services.pipeline.importer import ImportFileError, ImportReport, read_rows
from services.platform.errors import NotAllowed
from tests.factories import Factory
from tests.services.test_evaluation import _frozen  # noqa: F401 - the frozen clock, for every test here

HEADER = "candidate_email,job,round,start,minutes,mode,location,interviewers\n"


@pytest.fixture
def people(make: Factory) -> dict[str, User]:
    """A recruiter, two interviewers, and two candidates in interviewing for 'Backend Engineer' and 'Data Analyst'."""
    recruiter = make.user("recruiter", email="wang.fang@example.com")
    backend = make.job(actor=recruiter, title="Backend Engineer")
    analyst = make.job(actor=recruiter, title="Data Analyst")
    make.candidate(actor=recruiter, job=backend, name="张伟", email="zhang.wei@example.com")
    make.candidate(actor=recruiter, job=analyst, name="李雷", email="li.lei@example.com")
    return {
        "recruiter": recruiter,
        "li": make.user("interviewer", email="li.na@example.com"),
        "wang": make.user("hiring_manager", email="wang.qiang@example.com"),
    }


def run(session: Session, actor: User, csv: str, filename: str = "interviews.csv") -> ImportReport:
    rows = read_rows(
        filename=filename, content=csv.encode("utf-8"), headers=interview_import.HEADERS, required="candidate_email"
    )
    return interview_import.import_interviews(session=session, actor=actor, rows=rows)


def problems(report: ImportReport) -> list[tuple[int, str, str]]:
    return [(e.row, e.field, e.key) for e in report.errors]


def interviews(session: Session) -> list[Interview]:
    return list(session.exec(select(Interview).order_by(Interview.id)))


def test_a_good_file_schedules_every_row_in_the_local_time_zone(session, people) -> None:
    report = run(
        session,
        people["recruiter"],
        HEADER + "Zhang.Wei@example.com,Backend Engineer,技术面试,2026-03-10 10:00,60,video,https://meet.example.com/x,"
        "li.na@example.com;wang.qiang@example.com\n"
        "li.lei@example.com,,HR,2026/03/11 14:30,45,现场,会议室 2,LI.NA@example.com\n",
    )
    assert (report.ok, report.created) == (True, 2)
    first, second = interviews(session)
    assert (first.starts_at, first.ends_at, first.mode, first.location) == (
        datetime(2026, 3, 10, 2, 0, tzinfo=UTC),
        datetime(2026, 3, 10, 3, 0, tzinfo=UTC),
        "video",
        "https://meet.example.com/x",
    )  # 10:00 in Shanghai
    assert (second.starts_at, second.ends_at, second.mode) == (
        datetime(2026, 3, 11, 6, 30, tzinfo=UTC),
        datetime(2026, 3, 11, 7, 15, tzinfo=UTC),
        "onsite",
    )
    panel = session.exec(select(InterviewPanelist.interview_id, InterviewPanelist.user_id)).all()
    assert sorted(panel) == sorted(
        [(first.id, people["li"].id), (first.id, people["wang"].id), (second.id, people["li"].id)]
    )
    assert {i.created_by_id for i in (first, second)} == {people["recruiter"].id}


def test_chinese_headers_are_understood(session, people) -> None:
    report = run(
        session,
        people["recruiter"],
        "候选人邮箱,职位,面试轮次,开始时间,时长（分钟）,形式,地点,面试官\n"
        "zhang.wei@example.com,Backend Engineer,电话初筛,2026-03-10 09:30,,电话,,li.na@example.com\n",
    )
    assert (report.ok, report.created) == (True, 1)
    [iv] = interviews(session)
    assert (iv.mode, (iv.ends_at - iv.starts_at).total_seconds()) == ("phone", 3600)  # 60 minutes unless given


def test_one_bad_row_schedules_nothing_and_each_problem_names_its_row_and_field(session, people) -> None:
    report = run(
        session,
        people["recruiter"],
        HEADER + "zhang.wei@example.com,,技术面试,2026-03-10 10:00,60,video,,li.na@example.com\n"
        "nobody@example.com,,技术面试,2026-03-10 10:00,60,video,,li.na@example.com\n"
        "zhang.wei@example.com,,Final round,2026-03-10 10:00,60,video,,li.na@example.com\n"
        "zhang.wei@example.com,,技术面试,next tuesday,60,video,,li.na@example.com\n"
        "zhang.wei@example.com,,技术面试,2026-03-10 10:00,60,video,,ghost@example.com\n"
        "zhang.wei@example.com,,技术面试,2026-03-10 10:00,an hour,by pigeon,,li.na@example.com\n",
    )
    assert (report.ok, report.created) == (False, 0)
    assert problems(report) == [
        (3, "candidate_email", "err.import_no_candidate"),
        (4, "round", "err.import_choice"),
        (5, "start", "err.date_invalid"),
        (6, "interviewers", "err.not_an_interviewer"),
        (7, "minutes", "err.not_a_number"),
        (7, "mode", "err.import_choice"),
    ]
    assert [e.value for e in report.errors[:4]] == [
        "nobody@example.com",
        "Final round",
        "next tuesday",
        "ghost@example.com",
    ]
    assert interviews(session) == []


def test_a_row_the_scheduler_refuses_undoes_the_rows_before_it(session, people) -> None:
    report = run(
        session,
        people["recruiter"],
        HEADER + "zhang.wei@example.com,,技术面试,2026-03-10 10:00,60,video,,li.na@example.com\n"
        "li.lei@example.com,,HR,2026-03-10 11:00,0,video,,li.na@example.com\n",
    )
    assert (report.created, problems(report)) == (0, [(3, "__all__", "err.end_before_start")])
    assert interviews(session) == []


def test_a_panelist_without_a_panel_role_and_an_application_past_interviewing_are_refused(
    session, make, people
) -> None:
    make.user("", email="former@example.com")  # an account whose roles were all taken away
    app = session.exec(
        select(Application)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .where(Candidate.email == "li.lei@example.com")
    ).one()
    move_stage(session=session, actor=people["recruiter"], application_id=app.id, to_stage=Stage.offer)
    report = run(
        session,
        people["recruiter"],
        HEADER + "zhang.wei@example.com,,技术面试,2026-03-10 10:00,60,video,,former@example.com\n"
        "li.lei@example.com,,技术面试,2026-03-10 10:00,60,video,,li.na@example.com\n"
        "zhang.wei@example.com,Data Analyst,技术面试,2026-03-10 10:00,60,video,,li.na@example.com\n",
    )
    assert problems(report) == [
        (2, "interviewers", "err.not_an_interviewer"),
        (3, "job", "err.application_not_interviewing"),
        (4, "job", "err.application_not_interviewing"),
    ]
    assert interviews(session) == []


def test_only_recruiters_and_admins_import_interviews(session, people) -> None:
    with pytest.raises(NotAllowed):
        run(session, people["li"], HEADER + "zhang.wei@example.com,,技术面试,2026-03-10 10:00,60,,,li.na@example.com\n")
    assert interviews(session) == []


def test_a_file_without_the_candidate_email_column_is_refused_as_a_whole(session, people) -> None:
    with pytest.raises(ImportFileError) as err:
        run(session, people["recruiter"], "name,round,start\n张伟,技术面试,2026-03-10 10:00\n")
    assert (err.value.key, err.value.params) == ("err.import_missing_column", {"column": "candidate_email"})


def test_the_downloadable_template_reads_back_with_the_same_columns(session, people) -> None:
    [row] = read_rows(
        filename="template.csv",
        content=interview_import.TEMPLATE.encode("utf-8"),
        headers=interview_import.HEADERS,
        required="candidate_email",
    )
    assert set(row) == {"candidate_email", "job", "round", "start", "minutes", "mode", "location", "interviewers"}


def test_modes_and_rounds_are_accepted_as_the_app_shows_them_in_either_language(session, people) -> None:
    report = run(
        session,
        people["recruiter"],
        HEADER + "zhang.wei@example.com,backend  ENGINEER,  技术面试 ,2026-03-10 10:00,60, On-Site ,,"
        "li.na@example.com\n"
        "li.lei@example.com,,hr,2026-03-11 10:00,60,VIDEO,,li.na@example.com\n",
    )
    assert (report.ok, report.created) == (True, 2)
    assert [iv.mode for iv in interviews(session)] == ["onsite", "video"]


def test_an_unknown_mode_or_round_lists_the_accepted_values(session, people) -> None:
    report = run(
        session,
        people["recruiter"],
        HEADER + "zhang.wei@example.com,,Final round,2026-03-10 10:00,60,by pigeon,,li.na@example.com\n",
    )
    round_error, mode_error = report.errors
    assert "技术面试" in round_error.params["accepted"]
    assert {"现场", "On-site", "视频", "Video", "电话", "Phone"} <= set(
        w.strip() for part in mode_error.params["accepted"].split(";") for w in part.split("/")
    )
