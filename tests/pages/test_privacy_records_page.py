"""The Privacy page's requests and access tabs, and the records part of a candidate's Privacy tab (export, the
person's requests, who looked), in both languages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from models.candidate import Candidate
from models.privacy import AccessRecord, PrivacyRequest
from services.platform import db
from services.privacy import privacy_requests
from tests.pages.followup_support import open_as
from tests.pages.support import all_text, assert_no_exception, click_cell, submit, tr


def _someone() -> tuple[int, str]:
    with db.session_scope() as session:
        person = session.exec(select(Candidate).order_by(Candidate.id)).first()
        assert person is not None
        return person.id or 0, person.name


def _records(action: str | None = None) -> list[AccessRecord]:
    with db.session_scope() as session:
        query = select(AccessRecord)
        if action:
            query = query.where(AccessRecord.action == action)
        return list(session.exec(query))


def _requests() -> list[PrivacyRequest]:
    with db.session_scope() as session:
        return list(session.exec(select(PrivacyRequest).order_by(PrivacyRequest.id)))


def _buttons(at: Any) -> list[str]:
    return [b.key or "" for b in at.button]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_an_admin_exports_a_candidate_from_their_privacy_tab_and_the_export_is_recorded(demo_db, open_app, language):
    cid, _ = _someone()
    at = open_as(open_app, "admin", "pages/candidates.py", language, id=str(cid))
    assert_no_exception(at)
    assert tr("records.export_title", language) in all_text(at)
    assert not at.get("download_button")
    at.button(key=f"cand_privacy_prepare_{cid}").click().run()
    assert_no_exception(at)
    downloads = at.get("download_button")
    assert len(downloads) == 3  # the readable page in the admin's language and in the other one, and the JSON
    assert [r.candidate_id for r in _records("export")] == [cid]
    at.run()  # a rerun keeps the files and records nothing more
    assert len(at.get("download_button")) == 3 and len(_records("export")) == 1


@pytest.mark.parametrize("language", ["zh", "en"])
def test_opening_a_candidate_is_recorded_once_not_on_every_rerun(demo_db, open_app, language):
    cid, _ = _someone()
    at = open_as(open_app, "recruiter", "pages/candidates.py", language, id=str(cid))
    assert_no_exception(at)
    at.run()
    at.run()
    views = _records("view")
    assert [(r.candidate_id, r.action) for r in views] == [(cid, "view")]
    # a recruiter sees no export, requests or records of access
    assert f"cand_privacy_prepare_{cid}" not in _buttons(at)
    assert tr("records.who_looked", language) not in all_text(at)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_request_logged_on_the_candidates_tab_is_answered_there(demo_db, open_app, language):
    cid, _ = _someone()
    at = open_as(open_app, "admin", "pages/candidates.py", language, id=str(cid))
    prefix = f"cand_privacy_req_{cid}"
    at.text_area(key=f"{prefix}_log_note_0").set_value("<script>x</script> =1+2")
    at = submit(at, f"{prefix}_log_form_0")
    assert_no_exception(at)
    [row] = _requests()
    assert (row.candidate_id, row.kind, row.law, row.note) == (cid, "access", "pipl", "<script>x</script> =1+2")
    assert row.due_on == row.received_on + timedelta(days=privacy_requests.PIPL_DAYS)
    at = click_cell(at, f"{prefix}_open", 0, tr("records.col_kind", language))
    assert_no_exception(at)
    at = submit(at, f"{prefix}_answer_form_{row.id}")  # nothing typed: said, nothing saved
    assert _requests()[0].answered_at is None
    at.text_area(key=f"{prefix}_answer_{row.id}").set_value("export sent by mail")
    at = submit(at, f"{prefix}_answer_form_{row.id}")
    assert_no_exception(at)
    assert _requests()[0].answer == "export sent by mail"
    assert tr("records.no_open_requests", language) in all_text(at)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_requests_tab_finds_a_person_logs_a_request_and_lists_it_open(demo_db, open_app, language):
    _, name = _someone()
    at = open_as(open_app, "admin", "pages/privacy.py", language)
    assert_no_exception(at)
    assert tr("records.deadline_help", language, days=privacy_requests.PIPL_DAYS) in all_text(at)
    at = submit(at, "privacy_req_log_form_0")  # nobody chosen yet
    assert tr("records.pick_candidate", language) in all_text(at) and _requests() == []
    at.text_input(key="privacy_req_search").set_value(name).run()
    at.button(key="privacy_req_search_go").click().run()
    assert_no_exception(at)
    assert at.selectbox(key="privacy_req_log_who_0").options
    at.selectbox(key="privacy_req_log_who_0").select_index(0)
    at.radio(key="privacy_req_log_kind_0").set_value("erasure")
    at.radio(key="privacy_req_log_law_0").set_value("gdpr")
    at = submit(at, "privacy_req_log_form_0")
    assert_no_exception(at)
    [row] = _requests()
    assert (row.kind, row.law) == ("erasure", "gdpr")
    assert row.due_on == privacy_requests.add_months(row.received_on, 1)
    assert tr("records.erasure_hint", language) not in all_text(at)  # until a row is picked
    at = click_cell(at, "privacy_req_open", 0, tr("records.col_candidate", language))
    assert tr("records.erasure_hint", language) in all_text(at)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_access_tab_lists_who_looked_with_names_and_saves_the_period(demo_db, open_app, language):
    cid, name = _someone()
    open_as(open_app, "recruiter", "pages/candidates.py", language, id=str(cid))  # a look to list
    at = open_as(open_app, "admin", "pages/privacy.py", language)
    assert_no_exception(at)
    table = next(f for f in at.dataframe if tr("common.action", language) in f.value.columns)
    assert name in table.value[tr("records.col_candidate", language)].tolist()
    assert tr("records.action_view", language) in table.value[tr("common.action", language)].tolist()
    at.text_input(key="privacy_acc_candidate").set_value("nobody-by-this-name").run()
    assert tr("records.no_access", language) in all_text(at)
    at.number_input(key="privacy_acc_keep").set_value(12)
    at = submit(at, "privacy_acc_keep_form")
    assert_no_exception(at)
    assert tr("records.keep_saved", language) in all_text(at)
    assert at.number_input(key="privacy_acc_keep").value == 12


def test_an_access_request_answered_after_an_export_is_offered_what_was_done(demo_db, open_app):
    cid, _ = _someone()
    at = open_as(open_app, "admin", "pages/candidates.py", "en", id=str(cid))
    prefix = f"cand_privacy_req_{cid}"
    at = submit(at, f"{prefix}_log_form_0")
    [row] = _requests()
    at.button(key=f"cand_privacy_prepare_{cid}").click().run()
    at = click_cell(at, f"{prefix}_open", 0, tr("records.col_kind", "en"))
    offered = at.text_area(key=f"{prefix}_answer_{row.id}").value
    assert offered.startswith("Exported the whole record") and f"candidate-{cid}-" in offered
    at = submit(at, f"{prefix}_answer_form_{row.id}")
    assert_no_exception(at)
    assert _requests()[0].answer == offered


def test_once_a_request_is_logged_its_form_is_empty_and_the_same_request_again_is_refused(demo_db, open_app):
    cid, _ = _someone()
    prefix = f"cand_privacy_req_{cid}"
    at = open_as(open_app, "admin", "pages/candidates.py", "en", id=str(cid))
    other_tab = open_as(open_app, "admin", "pages/candidates.py", "en", id=str(cid))
    at.text_area(key=f"{prefix}_log_note_0").set_value("letter of 3 December")
    at = submit(at, f"{prefix}_log_form_0")
    assert_no_exception(at)
    assert at.text_area(key=f"{prefix}_log_note_1").value == ""  # a fresh form: a second click logs nothing
    other_tab = submit(other_tab, f"{prefix}_log_form_0")  # the same request from a tab opened before
    assert_no_exception(other_tab)
    assert len(_requests()) == 1
    assert any("already logged" in e.value for e in other_tab.error)


def test_a_request_answered_meanwhile_in_another_tab_is_refused_saying_by_whom_and_the_text_stays(demo_db, open_app):
    cid, _ = _someone()
    prefix = f"cand_privacy_req_{cid}"
    at = open_as(open_app, "admin", "pages/candidates.py", "en", id=str(cid))
    at.text_area(key=f"{prefix}_log_note_0").set_value("by letter")
    at = submit(at, f"{prefix}_log_form_0")
    [row] = _requests()
    first = click_cell(at, f"{prefix}_open", 0, tr("records.col_kind", "en"))
    second = click_cell(
        open_as(open_app, "admin", "pages/candidates.py", "en", id=str(cid)),
        f"{prefix}_open",
        0,
        tr("records.col_kind", "en"),
    )
    first.text_area(key=f"{prefix}_answer_{row.id}").set_value("export sent by mail")
    first = submit(first, f"{prefix}_answer_form_{row.id}")
    assert_no_exception(first)
    assert not first.error  # the tab that answered is not told it was answered already
    second.text_area(key=f"{prefix}_answer_{row.id}").set_value("sent the export on paper")
    second = submit(second, f"{prefix}_answer_form_{row.id}")
    assert_no_exception(second)
    assert _requests()[0].answer == "export sent by mail"
    assert any("already answered" in e.value for e in second.error)  # said, not silently dropped
    assert second.text_area(key=f"{prefix}_answer_{row.id}").value == "sent the export on paper"
