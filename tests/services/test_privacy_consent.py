"""Privacy (issue 13), notice and consent: versions of the notice an admin writes, publishes and may delete only while
nobody was shown them; a candidate's legal basis and notice; consent per purpose with its history; withdrawal takes the
person out of the talent pool and stops pool and survey mail; the candidate's own single-use, expiring link in every
mail to them; the import column and the candidate form record consent too."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.audit import AuditLog
from models.candidate import Candidate
from models.followup import PoolEntry
from models.mail import MailStatus, OutboxMessage
from models.privacy import ConsentRecord
from models.user import User
from services.follow_up import followup
from services.mail.reminders import run_reminders
from services.pipeline import candidates, importer
from services.platform.config import get_settings
from services.platform.errors import InvalidTransition, NotAllowed, NotFound, ValidationError
from services.privacy import consent, notices

TODAY = date(2026, 3, 2)  # the frozen clock's day


@pytest.fixture(autouse=True)
def _frozen(frozen_clock: Any) -> Any:
    return frozen_clock


def give(session: Session, actor: User, candidate_id: int, purpose: str = "talent_pool", **values: Any) -> Any:
    return consent.record_consent(
        session=session,
        actor=actor,
        consent_in={"candidate_id": candidate_id, "purpose": purpose, "given": True} | values,
    )


def withdraw(session: Session, actor: User, candidate_id: int, purpose: str = "talent_pool", **values: Any) -> Any:
    return consent.record_consent(
        session=session,
        actor=actor,
        consent_in={"candidate_id": candidate_id, "purpose": purpose, "given": False} | values,
    )


def pooled(session: Session, actor: User, candidate_id: int) -> PoolEntry:
    return followup.add_to_pool(
        session=session,
        actor=actor,
        entry_in={"candidate_id": candidate_id, "reason": "明年再联系", "revisit_on": TODAY + timedelta(days=3)},
    )


def token_of(mail: OutboxMessage) -> str:
    found = re.search(r"\?consent=([A-Za-z0-9_\-]+)", mail.text)
    assert found, mail.text
    return found.group(1)


def actions(session: Session, candidate_id: int) -> list[str]:
    return [
        a.action
        for a in session.exec(
            select(AuditLog)
            .where(AuditLog.entity == "candidate", AuditLog.entity_id == candidate_id)
            .order_by(AuditLog.id)  # type: ignore[arg-type]
        )
    ]


# --------------------------------------------------------------------------- the notice
def test_until_a_version_is_published_the_public_page_shows_the_built_in_notice_in_both_languages(session) -> None:
    text = notices.notice_text(session=session)
    assert text is not None and text.version is None
    assert "隐私" in text.text("zh") and "Privacy" in text.text("en")
    assert notices.current_notice(session=session) is None


def test_the_built_in_notice_is_saved_as_version_one_the_first_time_it_is_needed(session) -> None:
    saved = notices.ensure_current_notice(session=session)
    assert (saved.version, saved.published_at is not None) == (1, True)
    assert notices.ensure_current_notice(session=session).id == saved.id


def test_two_first_uses_at_once_keep_one_built_in_version(session, monkeypatch) -> None:
    first = notices.ensure_current_notice(session=session)
    session.commit()
    real = notices._current
    answers = iter([None])  # the second caller read "none published" before the first one's was saved
    monkeypatch.setattr(notices, "_current", lambda s: next(answers, None) or real(s))
    monkeypatch.setattr(notices, "_next_version", lambda s: 1)
    assert notices.ensure_current_notice(session=session).id == first.id
    assert len(session.exec(select(notices.PrivacyNotice)).all()) == 1


def test_the_newest_published_version_is_current_and_drafts_are_shown_to_nobody(session, make, frozen_clock) -> None:
    admin = make.admin()
    first = notices.create_notice(session=session, actor=admin, notice_in={"text_zh": " 第一版 ", "text_en": "One"})
    second = notices.create_notice(session=session, actor=admin, notice_in={"text_zh": "第二版", "text_en": "Two"})
    assert (first.version, second.version, first.text_zh) == (1, 2, "第一版")
    assert notices.notice_text(session=session, version=1) is None  # a draft is not public
    notices.publish_notice(session=session, actor=admin, notice_id=first.id)
    assert notices.current_notice(session=session).id == first.id
    frozen_clock.set(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    notices.publish_notice(session=session, actor=admin, notice_id=second.id)
    rows = notices.list_notices(session=session, actor=admin)
    assert [(r.notice.version, r.current) for r in rows] == [(2, True), (1, False)]
    assert notices.notice_text(session=session).text("en") == "Two"
    assert notices.notice_text(session=session, version=1).text("zh") == "第一版"
    with pytest.raises(InvalidTransition):
        notices.publish_notice(session=session, actor=admin, notice_id=second.id)


def test_a_version_shown_to_someone_or_published_cannot_be_deleted_a_draft_can(session, make) -> None:
    admin = make.admin()
    person = make.candidate(actor=admin)
    shown = notices.create_notice(session=session, actor=admin, notice_in={"text_zh": "已展示", "text_en": "Shown"})
    notices.publish_notice(session=session, actor=admin, notice_id=shown.id)
    consent.set_privacy_facts(
        session=session,
        actor=admin,
        candidate_id=person.id,
        version=person.version,
        facts_in={"legal_basis": "pre_contract", "notice_id": shown.id, "notice_shown_at": datetime(2026, 3, 1, 10, 0)},
    )
    with pytest.raises(notices.NoticeInUse) as refused:
        notices.delete_notice(session=session, actor=admin, notice_id=shown.id)
    assert refused.value.params == {"version": 1, "count": 1}
    public = notices.create_notice(session=session, actor=admin, notice_in={"text_zh": "公开", "text_en": "Public"})
    notices.publish_notice(session=session, actor=admin, notice_id=public.id)
    with pytest.raises(InvalidTransition):
        notices.delete_notice(session=session, actor=admin, notice_id=public.id)
    draft = notices.create_notice(session=session, actor=admin, notice_in={"text_zh": "草稿", "text_en": "Draft"})
    notices.delete_notice(session=session, actor=admin, notice_id=draft.id)
    assert [r.notice.version for r in notices.list_notices(session=session, actor=admin)] == [2, 1]
    assert {r.shown_to for r in notices.list_notices(session=session, actor=admin)} == {0, 1}


def test_an_empty_or_oversized_notice_text_is_refused(session, make) -> None:
    admin = make.admin()
    with pytest.raises(ValidationError) as refused:
        notices.create_notice(session=session, actor=admin, notice_in={"text_zh": "  ", "text_en": "x" * 50_001})
    assert set(refused.value.fields) == {"text_zh", "text_en"}


def test_only_admins_manage_the_notice(session, make) -> None:
    for roles in ("recruiter", "hiring_manager", "interviewer"):
        with pytest.raises(NotAllowed):
            notices.create_notice(session=session, actor=make.user(roles), notice_in={"text_zh": "a", "text_en": "b"})


# --------------------------------------------------------------------------- legal basis and notice of a candidate
def test_a_recruiter_records_the_legal_basis_the_notice_and_when_a_sourced_person_was_told(session, make) -> None:
    recruiter = make.user("recruiter")
    person = make.candidate(actor=recruiter, source="headhunter")
    notice = notices.ensure_current_notice(session=session)
    opened = person.version
    saved = consent.set_privacy_facts(
        session=session,
        actor=recruiter,
        candidate_id=person.id,
        version=opened,
        facts_in={
            "legal_basis": "consent",
            "notice_id": notice.id,
            "notice_shown_at": datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
            "source_told_at": datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        },
    )
    assert (saved.legal_basis, saved.notice_id, saved.version) == ("consent", notice.id, opened + 1)
    info = consent.candidate_privacy(session=session, actor=recruiter, candidate_id=person.id)
    assert info.sourced and info.notice.id == notice.id and info.can_record
    assert actions(session, person.id)[-1] == "privacy_facts"
    with pytest.raises(candidates.Conflict):  # the form was opened before that save
        consent.set_privacy_facts(
            session=session,
            actor=recruiter,
            candidate_id=person.id,
            version=opened,
            facts_in={"legal_basis": "pre_contract"},
        )


def test_recording_the_built_in_notice_as_shown_saves_it_as_version_one(session, make) -> None:
    recruiter = make.user("recruiter")
    person = make.candidate(actor=recruiter)
    saved = consent.set_privacy_facts(
        session=session,
        actor=recruiter,
        candidate_id=person.id,
        version=person.version,
        facts_in={"legal_basis": "pre_contract", "notice_id": consent.CURRENT_NOTICE, "notice_shown_at": None},
    )
    current = notices.current_notice(session=session)
    assert current is not None and current.version == 1 and saved.notice_id == current.id


def test_a_notice_not_published_or_a_date_in_the_future_is_refused(session, make) -> None:
    admin = make.admin()
    person = make.candidate(actor=admin)
    draft = notices.create_notice(session=session, actor=admin, notice_in={"text_zh": "草稿", "text_en": "Draft"})
    for facts, field in (
        ({"legal_basis": "consent", "notice_id": draft.id}, "notice_id"),
        ({"legal_basis": "consent", "source_told_at": datetime(2026, 4, 1, tzinfo=UTC)}, "source_told_at"),
        ({"legal_basis": "because"}, "legal_basis"),
    ):
        with pytest.raises(ValidationError) as refused:
            consent.set_privacy_facts(
                session=session, actor=admin, candidate_id=person.id, version=person.version, facts_in=facts
            )
        assert field in refused.value.fields


def test_a_hiring_manager_reads_privacy_of_their_jobs_candidates_but_cannot_record(session, make) -> None:
    manager = make.user("hiring_manager")
    job = make.job(hiring_manager_id=manager.id)
    person = make.candidate(job=job)
    stranger = make.candidate()
    info = consent.candidate_privacy(session=session, actor=manager, candidate_id=person.id)
    assert not info.can_record
    with pytest.raises(NotFound):
        consent.candidate_privacy(session=session, actor=manager, candidate_id=stranger.id)
    for actor in (manager, make.user("interviewer")):
        with pytest.raises(NotAllowed):
            give(session, actor, person.id)
        with pytest.raises(NotAllowed):
            consent.set_privacy_facts(
                session=session, actor=actor, candidate_id=person.id, version=1, facts_in={"legal_basis": "consent"}
            )


# --------------------------------------------------------------------------- consent per purpose
def test_consent_given_and_withdrawn_is_a_history_and_the_old_flag_follows_the_talent_pool(session, make) -> None:
    recruiter = make.user("recruiter")
    person = make.candidate(actor=recruiter)
    give(session, recruiter, person.id, until=TODAY + timedelta(days=365), note="电话确认")
    give(session, recruiter, person.id, "survey")
    assert consent.consent_in_force(session=session, candidate_id=person.id, purpose="talent_pool")
    assert session.get(Candidate, person.id).consent
    withdraw(session, recruiter, person.id)
    info = consent.candidate_privacy(session=session, actor=recruiter, candidate_id=person.id)
    assert [(r.purpose, r.given, r.method, who) for r, who in info.history] == [
        ("talent_pool", False, "form", recruiter.name),
        ("survey", True, "form", recruiter.name),
        ("talent_pool", True, "form", recruiter.name),
    ]
    assert info.history[-1][0].until == TODAY + timedelta(days=365) and info.history[-1][0].note == "电话确认"
    assert info.in_force == {"talent_pool": False, "survey": True, "sensitive": False}
    fresh = session.get(Candidate, person.id)
    assert (fresh.consent, fresh.consent_at) == (False, None)
    assert actions(session, person.id)[-3:] == ["consent_given", "consent_given", "consent_withdrawn"]


def test_talent_pool_consent_ends_on_its_end_date(session, make, frozen_clock) -> None:
    recruiter = make.user("recruiter")
    person = make.candidate(actor=recruiter)
    give(session, recruiter, person.id, until=TODAY + timedelta(days=10))
    assert consent.consent_in_force(session=session, candidate_id=person.id, purpose="talent_pool")
    assert not consent.consent_in_force(
        session=session, candidate_id=person.id, purpose="talent_pool", on=TODAY + timedelta(days=11)
    )


def test_an_end_date_in_the_past_or_for_another_purpose_is_refused(session, make) -> None:
    recruiter = make.user("recruiter")
    person = make.candidate(actor=recruiter)
    with pytest.raises(ValidationError) as past:
        give(session, recruiter, person.id, until=TODAY - timedelta(days=1))
    with pytest.raises(ValidationError) as other:
        give(session, recruiter, person.id, "survey", until=TODAY + timedelta(days=1))
    assert past.value.fields["until"][0] == "err.until_past" and other.value.fields["until"][0] == "err.until_pool_only"


@pytest.mark.parametrize("note", ["=1+2", "<script>alert(1)</script>", "![x](/session/end)"])
def test_a_hostile_note_is_kept_as_plain_text(session, make, note) -> None:
    recruiter = make.user("recruiter")
    person = make.candidate(actor=recruiter)
    record = give(session, recruiter, person.id, note=note)
    assert session.get(ConsentRecord, record.id).note == note


def test_a_note_over_500_characters_is_refused(session, make) -> None:
    recruiter = make.user("recruiter")
    person = make.candidate(actor=recruiter)
    with pytest.raises(ValidationError) as refused:
        give(session, recruiter, person.id, note="长" * 501)
    assert "note" in refused.value.fields


# --------------------------------------------------------------------------- withdrawal: the pool and its mail
def test_withdrawing_talent_pool_consent_takes_the_person_out_of_the_pool_and_stops_re_engagement(
    session, make
) -> None:
    recruiter = make.user("recruiter")
    person = make.candidate(actor=recruiter)
    pooled(session, recruiter, person.id)
    draft = followup.prepare_reengagement_mail(session=session, actor=recruiter, candidate_id=person.id)
    withdraw(session, recruiter, person.id)
    assert session.exec(select(PoolEntry.status).where(PoolEntry.candidate_id == person.id)).one() == "removed"
    assert session.get(OutboxMessage, draft.id).status == MailStatus.cancelled
    assert followup.count_pool(session=session, actor=recruiter) == 0
    with pytest.raises(consent.ConsentRefused):
        followup.prepare_reengagement_mail(session=session, actor=recruiter, candidate_id=person.id)
    with pytest.raises(consent.ConsentRefused):
        pooled(session, recruiter, person.id)
    assert person.id not in [c.id for c in followup.poolable_candidates(session=session, actor=recruiter)]
    give(session, recruiter, person.id)  # given again: may be kept again
    pooled(session, recruiter, person.id)


def test_an_application_is_not_moved_to_the_talent_pool_of_someone_who_withdrew(session, make) -> None:
    recruiter = make.user("recruiter")
    person = make.candidate(actor=recruiter, job=make.job())
    [app] = candidates.get_candidate_detail(session=session, actor=recruiter, candidate_id=person.id).applications
    withdraw(session, recruiter, person.id)
    with pytest.raises(consent.ConsentRefused):
        candidates.move_stage(
            session=session,
            actor=recruiter,
            application_id=app.application.id,
            to_stage="talent_pool",
            pool={"reason": "下次再联系", "revisit_on": TODAY + timedelta(days=30)},
        )


def test_withdrawing_survey_consent_stops_the_survey_invitation(session, make) -> None:
    recruiter = make.user("recruiter")
    person = make.candidate(actor=recruiter, job=make.job())
    [app] = candidates.get_candidate_detail(session=session, actor=recruiter, candidate_id=person.id).applications
    invite = followup.prepare_candidate_mail(
        session=session, actor=recruiter, application_id=app.application.id, template="survey_invite"
    )
    thanks = followup.prepare_candidate_mail(
        session=session, actor=recruiter, application_id=app.application.id, template="thank_you"
    )
    withdraw(session, recruiter, person.id, "survey")
    assert session.get(OutboxMessage, invite.id).status == MailStatus.cancelled
    assert session.get(OutboxMessage, thanks.id).status == MailStatus.draft  # other mail is not about the survey
    with pytest.raises(consent.ConsentRefused):
        followup.prepare_candidate_mail(
            session=session, actor=recruiter, application_id=app.application.id, template="survey_invite"
        )
    followup.prepare_candidate_mail(
        session=session, actor=recruiter, application_id=app.application.id, template="thank_you"
    )


def test_no_pool_revisit_reminder_for_someone_whose_pool_consent_has_ended(engine, session, make) -> None:
    recruiter = make.user("recruiter")
    kept, ended = make.candidate(actor=recruiter), make.candidate(actor=recruiter)
    for person in (kept, ended):
        pooled(session, recruiter, person.id)
    give(session, recruiter, ended.id, until=TODAY)  # ends today: refused from tomorrow
    session.commit()
    nine = datetime(2026, 3, 5, 1, 0, tzinfo=UTC)  # the revisit's 09:00 in Shanghai
    assert run_reminders(engine=engine, now=nine, settings=get_settings())["pool_revisit"] == 1
    with Session(engine) as s:
        [mail] = [m for m in s.exec(select(OutboxMessage)) if m.idempotency_key.startswith("reminder:pool_revisit")]
    assert kept.name in mail.subject and ended.name not in mail.subject


# --------------------------------------------------------------------------- the candidate's own link
def _thank_you(session: Session, make: Any, language: str = "zh") -> tuple[User, Candidate, OutboxMessage]:
    recruiter = make.user("recruiter")
    person = make.candidate(actor=recruiter, job=make.job(), language=language)
    [app] = candidates.get_candidate_detail(session=session, actor=recruiter, candidate_id=person.id).applications
    mail = followup.prepare_candidate_mail(
        session=session, actor=recruiter, application_id=app.application.id, template="thank_you"
    )
    return recruiter, person, mail


@pytest.mark.parametrize(("language", "words"), [("zh", "管理您的数据授权"), ("en", "Manage how we keep your data")])
def test_every_mail_to_a_candidate_carries_their_consent_link_and_the_notice_in_their_language(
    session, make, language, words
) -> None:
    _, person, mail = _thank_you(session, make, language)
    assert words in mail.text and words in mail.html
    assert "?consent=" in mail.html and f"?notice=current&amp;lang={language}" in mail.html
    assert consent.open_consent_link(session=session, token=token_of(mail)).language == language


def test_mail_to_staff_carries_no_consent_link(session, make) -> None:
    admin = make.admin()
    from services.mail import outbox

    mail = outbox.queue_test_message(session=session, actor=admin, to="ops@example.com")
    assert "consent=" not in mail.text


def test_the_candidate_withdraws_by_their_link_once(session, make) -> None:
    recruiter, person, mail = _thank_you(session, make)
    give(session, recruiter, person.id)
    pooled(session, recruiter, person.id)
    token = token_of(mail)
    page = consent.open_consent_link(session=session, token=token)
    assert page.pool_in_force and page.notice_version is None
    record = consent.answer_consent_link(session=session, token=token, give=False)
    assert (record.given, record.method, record.by_user_id) == (False, "link", None)
    assert session.exec(select(PoolEntry.status).where(PoolEntry.candidate_id == person.id)).one() == "removed"
    fresh = session.get(Candidate, person.id)
    assert fresh.consent is False and fresh.notice_id is not None and fresh.notice_shown_at is not None
    for attempt in (
        lambda: consent.open_consent_link(session=session, token=token),
        lambda: consent.answer_consent_link(session=session, token=token, give=True),
    ):
        with pytest.raises(consent.ConsentLinkInvalid):
            attempt()


def test_withdrawn_by_one_link_and_given_again_by_the_next_mails_link(session, make) -> None:
    recruiter, person, first = _thank_you(session, make)
    consent.answer_consent_link(session=session, token=token_of(first), give=False)
    again = followup.prepare_reengagement_mail  # refused now: the next mail is another kind
    with pytest.raises(consent.ConsentRefused):
        again(session=session, actor=recruiter, candidate_id=person.id)
    [app] = candidates.get_candidate_detail(session=session, actor=recruiter, candidate_id=person.id).applications
    second = followup.prepare_candidate_mail(
        session=session, actor=recruiter, application_id=app.application.id, template="next_round"
    )
    record = consent.answer_consent_link(session=session, token=token_of(second), give=True)
    assert record.until == date(2028, 3, 2)  # LINK_POOL_MONTHS
    assert consent.consent_in_force(session=session, candidate_id=person.id, purpose="talent_pool")
    info = consent.candidate_privacy(session=session, actor=recruiter, candidate_id=person.id)
    assert [(r.given, r.method, who) for r, who in info.history] == [(True, "link", ""), (False, "link", "")]


def test_an_expired_link_is_refused(session, make, frozen_clock) -> None:
    _, _, mail = _thank_you(session, make)
    frozen_clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(days=consent.LINK_DAYS, seconds=1))
    with pytest.raises(consent.ConsentLinkInvalid):
        consent.open_consent_link(session=session, token=token_of(mail))
    with pytest.raises(consent.ConsentLinkInvalid):
        consent.answer_consent_link(session=session, token=token_of(mail), give=True)


@pytest.mark.parametrize("token", ["", "garbled", "x" * 500, "<script>", "' OR 1=1 --"])
def test_a_garbled_link_is_refused_the_same_way(session, make, token) -> None:
    _thank_you(session, make)
    with pytest.raises(consent.ConsentLinkInvalid):
        consent.open_consent_link(session=session, token=token)


def test_only_a_keyed_hash_of_the_token_is_stored(session, make) -> None:
    from models.privacy import ConsentLink

    _, _, mail = _thank_you(session, make)
    token = token_of(mail)
    stored = session.exec(select(ConsentLink.token_hash)).all()
    assert token not in stored and all(len(h) == 64 for h in stored)


# --------------------------------------------------------------------------- the form and the import column
def test_the_candidate_forms_consent_box_is_recorded_as_given_and_withdrawn_by_form(session, make) -> None:
    recruiter = make.user("recruiter")
    person = make.candidate(actor=recruiter, consent=True)
    [record] = session.exec(select(ConsentRecord).where(ConsentRecord.candidate_id == person.id)).all()
    assert (record.purpose, record.given, record.method) == ("talent_pool", True, "form")
    assert person.consent_at is not None and person.version == 1
    opened = person.version
    saved = candidates.update_candidate(
        session=session,
        actor=recruiter,
        candidate_id=person.id,
        candidate_in={"name": person.name, "email": person.email, "consent": False, "version": opened},
    )
    assert (saved.consent, saved.consent_at) == (False, None)
    assert not consent.consent_in_force(session=session, candidate_id=person.id, purpose="talent_pool")
    assert saved.version == opened + 1  # one save, one version
    form_opened = saved.version
    give(session, recruiter, person.id)  # on the Privacy tab, while the edit form is open
    with pytest.raises(candidates.Conflict):  # the form opened before must not write its old box back
        candidates.update_candidate(
            session=session,
            actor=recruiter,
            candidate_id=person.id,
            candidate_in={"name": person.name, "email": person.email, "consent": False, "version": form_opened},
        )


def test_the_import_column_records_consent_by_import(session, make) -> None:
    recruiter = make.user("recruiter")
    report = importer.import_candidates(
        session=session,
        actor=recruiter,
        rows=[
            {"name": "王同意", "email": "yes@example.com", "consent": "是"},
            {"name": "李未答", "email": "no@example.com", "consent": ""},
        ],
    )
    assert report.created == 2, report.errors
    people = {c.email: c for c in session.exec(select(Candidate))}
    [record] = session.exec(select(ConsentRecord)).all()
    assert (record.candidate_id, record.method, record.given) == (people["yes@example.com"].id, "import", True)
    assert people["yes@example.com"].consent and not people["no@example.com"].consent


def test_consent_is_not_recorded_for_an_anonymised_person(session, make, engine: Engine) -> None:
    recruiter = make.user("recruiter")
    person = make.candidate(actor=recruiter)
    row = session.get(Candidate, person.id)
    row.anonymised_at = datetime(2026, 3, 1, tzinfo=UTC)
    session.add(row)
    session.commit()
    with pytest.raises(NotFound):
        give(session, recruiter, person.id)


def test_a_new_version_with_the_very_text_of_an_earlier_one_is_refused(session, make) -> None:
    admin = make.admin()
    first = notices.create_notice(session=session, actor=admin, notice_in={"text_zh": "第一版", "text_en": "One"})
    with pytest.raises(InvalidTransition) as twice:  # a double click on "save", or the same text from a second tab
        notices.create_notice(session=session, actor=admin, notice_in={"text_zh": " 第一版 ", "text_en": "One"})
    assert twice.value.key == "err.notice_same_text" and twice.value.params["version"] == first.version
    changed = notices.create_notice(session=session, actor=admin, notice_in={"text_zh": "第一版", "text_en": "One."})
    assert changed.version == first.version + 1
