"""Independence across rounds and roles (issue 8, security 1): whoever sits on an interview's panel sees the
other cards of THAT interview only after submitting their own, whatever their role; the cards of interviews
they are not on follow their role. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from models.user import User
from services.evaluate import evaluation
from services.platform.errors import NotAllowed
from tests.services.test_evaluation import DAY, HOUR, T0, Setup, interview_with_panel, submit


@pytest.fixture(autouse=True)
def _frozen(frozen_clock: Any) -> Any:
    return frozen_clock


def seen(session: Session, who: User, s: Setup) -> dict[str, list[str]]:
    """Round name -> the names on the scorecards `who` is shown in the debrief."""
    data = evaluation.debrief(session=session, actor=who, application_id=s.application.id)
    return {rd.round.name_en: sorted(c.interviewer for c in rd.cards) for rd in data.rounds}


def two_rounds(make: Any, round_two_panel: list[User], recruiter: User | None = None, **kw: Any) -> tuple[Setup, Setup]:
    """Round 1 (Technical, 06:00) with two new interviewers, round 2 (On-site, 08:00) of the same application."""
    first = interview_with_panel(make, panel=2, recruiter=recruiter, **kw)
    second = interview_with_panel(
        make,
        panel=round_two_panel,
        application=first.application,
        recruiter=first.recruiter,
        round_name="On-site",
        starts=T0 - HOUR,
    )
    return first, second


def test_an_interviewer_who_submitted_round_one_does_not_see_round_two_while_owing_their_own(session, make) -> None:
    me = make.user("interviewer")
    other = make.user("interviewer")
    first = interview_with_panel(make, panel=[me, make.user("interviewer")])
    second = interview_with_panel(
        make,
        panel=[me, other],
        application=first.application,
        recruiter=first.recruiter,
        round_name="On-site",
        starts=T0 - HOUR,
    )
    submit(session, me, first, [4, 4, 4])
    submit(session, first.panel[1], first, [3, 3, 3])
    submit(session, other, second, [2, 2, 2], rec="no")
    view = seen(session, me, first)
    assert view == {"Technical": sorted([me.name, first.panel[1].name]), "On-site": []}
    on_site = evaluation.debrief(session=session, actor=me, application_id=first.application.id).rounds[1]
    assert (on_site.hidden, on_site.hidden_reason, on_site.average, on_site.pending) == (
        1,
        "err.submit_first",
        None,
        [],
    )
    submit(session, me, second, [4, 4, 4])
    assert seen(session, me, first)["On-site"] == sorted([me.name, other.name])


def test_an_interviewer_does_not_see_a_round_they_are_not_on(session, make) -> None:
    first, second = two_rounds(make, [make.user("interviewer")])
    submit(session, first.panel[0], first, [4, 4, 4])
    submit(session, second.panel[0], second, [2, 2, 2])
    view = evaluation.debrief(session=session, actor=first.panel[0], application_id=first.application.id)
    on_site = view.rounds[1]
    assert (on_site.cards, on_site.hidden, on_site.hidden_reason) == ([], 1, "err.not_on_panel")


@pytest.mark.parametrize("role", ["hiring_manager", "recruiter", "admin"])
def test_a_reader_of_every_card_who_sits_on_the_panel_submits_first(session, make, role) -> None:
    job = make.job()
    if role == "hiring_manager":
        reader = make.user("hiring_manager")
        job.hiring_manager_id = reader.id
        session.add(job)
        session.commit()
    else:
        reader = make.user(role)
    colleague = make.user("interviewer")
    s = interview_with_panel(make, panel=[reader, colleague], job=job)
    later = interview_with_panel(
        make, panel=1, application=s.application, recruiter=s.recruiter, round_name="On-site", starts=T0 - HOUR
    )
    submit(session, colleague, s, [2, 2, 2], rec="no")
    submit(session, later.panel[0], later, [5, 5, 5], rec="strong_yes")
    # Their own interview's cards stay closed until they submit; an interview they are not on follows their role.
    view = evaluation.debrief(session=session, actor=reader, application_id=s.application.id)
    technical, on_site = view.rounds
    assert (technical.cards, technical.average, technical.hidden_reason) == ([], None, "err.submit_first")
    assert [c.interviewer for c in on_site.cards] == [later.panel[0].name]
    submit(session, reader, s, [4, 4, 4])
    assert seen(session, reader, s)["Technical"] == sorted([reader.name, colleague.name])


def test_a_hiring_manager_of_another_job_is_told_it_is_not_their_job(session, make) -> None:
    s = interview_with_panel(make, panel=1)
    submit(session, s.panel[0], s, [4, 4, 4])
    other_manager = make.user("hiring_manager")
    with pytest.raises(NotAllowed) as err:
        evaluation.debrief(session=session, actor=other_manager, application_id=s.application.id)
    assert err.value.key == "err.not_your_job"
    stranger = make.user("interviewer")
    with pytest.raises(NotAllowed) as err:
        evaluation.debrief(session=session, actor=stranger, application_id=s.application.id)
    assert err.value.key == "err.not_on_panel"
    with pytest.raises(NotAllowed) as err:  # on the panel, card not in: the old message still fits
        other = interview_with_panel(make, panel=1, recruiter=s.recruiter, starts=T0 + DAY)
        evaluation.debrief(session=session, actor=other.panel[0], application_id=other.application.id)
    assert err.value.key == "err.submit_first"


def test_a_hiring_manager_on_another_jobs_panel_sees_that_interview_once_submitted(session, make) -> None:
    manager = make.user("hiring_manager")
    s = interview_with_panel(make, panel=[manager, make.user("interviewer")])
    with pytest.raises(NotAllowed) as err:
        evaluation.debrief(session=session, actor=manager, application_id=s.application.id)
    assert err.value.key == "err.submit_first"
    submit(session, s.panel[1], s, [3, 3, 3])
    submit(session, manager, s, [4, 4, 4])
    assert seen(session, manager, s) == {"Technical": sorted([manager.name, s.panel[1].name])}
