"""The candidates page: create with field messages, duplicates, and the edit conflict."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import func, select

from models.candidate import Candidate
from services.platform import db
from tests.pages.conftest import ROLE_EMAILS, demo_user
from tests.pages.support import assert_no_exception, element_after, submit, tr


def _count() -> int:
    with db.session_scope() as session:
        return session.exec(select(func.count()).select_from(Candidate)).one()


def _first_candidate() -> Candidate:
    with db.session_scope() as session:
        return session.exec(select(Candidate).order_by(Candidate.id)).first()


def _fill_new(at, *, name: str, email: str, phone: str = "") -> None:
    at.text_input(key="cand_new_name").input(name)
    at.text_input(key="cand_new_email").input(email)
    at.text_input(key="cand_new_phone").input(phone)
    at.text_input(key="cand_new_tags").input("python, 上海")


def test_a_bad_email_is_reported_next_to_the_field_and_what_was_typed_stays(demo_db, open_app):
    before = _count()
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "zh")).run()
    _fill_new(at, name="赵子涵", email="zhao.zihan-at-example.com", phone="+86 139 1111 2222")
    submit(at, "cand_new_form")
    assert_no_exception(at)

    message = element_after(at, "cand_new_email")
    assert message.type == "error"
    assert message.value == tr("err.email_invalid", "zh")
    assert at.text_input(key="cand_new_name").value == "赵子涵"
    assert at.text_input(key="cand_new_email").value == "zhao.zihan-at-example.com"
    assert at.text_input(key="cand_new_phone").value == "+86 139 1111 2222"
    assert at.text_input(key="cand_new_tags").value == "python, 上海"
    assert _count() == before

    # Fixed: the candidate is created and their page opens.
    at.text_input(key="cand_new_email").input("zhao.zihan@example.com")
    submit(at, "cand_new_form")
    assert_no_exception(at)
    assert _count() == before + 1
    assert at.title[0].value == "赵子涵"
    assert tr("cand.created", "zh", name="赵子涵") in [s.value for s in at.success]
    with db.session_scope() as session:
        created = session.exec(select(Candidate).where(Candidate.email == "zhao.zihan@example.com")).one()
    assert created.owner_id == demo_user(ROLE_EMAILS["recruiter"]).id
    assert at.query_params.get("id") == str(created.id)


def test_creating_a_candidate_in_english_shows_the_message_in_english(demo_db, open_app):
    at = open_app(demo_user(ROLE_EMAILS["admin"], "en")).run()
    _fill_new(at, name="Emma Walker", email="")
    submit(at, "cand_new_form")
    assert_no_exception(at)
    # Neither email nor phone: the form-wide message appears below the fields.
    assert tr("err.contact_required", "en") in [e.value for e in at.error]


def test_a_duplicate_email_is_flagged_and_the_existing_candidate_is_offered(demo_db, open_app):
    existing = _first_candidate()
    before = _count()
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "zh")).run()
    _fill_new(at, name="另一个人", email=existing.email.upper())
    submit(at, "cand_new_form")
    assert_no_exception(at)

    assert [w.value for w in at.warning] == [tr("err.duplicate_candidate", "zh")]
    offer = at.button(key=f"cand_new_dupe_{existing.id}")
    assert existing.name in offer.label
    assert at.button(key="cand_new_anyway").label == tr("cand.save_anyway", "zh")
    assert _count() == before
    assert at.text_input(key="cand_new_name").value == "另一个人"

    offer.click().run()
    assert_no_exception(at)
    assert at.title[0].value == existing.name
    assert _count() == before


def test_save_anyway_creates_the_second_candidate_with_the_same_email(demo_db, open_app):
    existing = _first_candidate()
    before = _count()
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "zh")).run()
    _fill_new(at, name="同名不同人", email=existing.email)
    submit(at, "cand_new_form")
    at.button(key="cand_new_anyway").click().run()
    assert_no_exception(at)
    assert _count() == before + 1
    assert at.title[0].value == "同名不同人"


def test_an_edit_saved_meanwhile_by_someone_else_shows_the_conflict_and_keeps_the_typed_value(demo_db, open_app):
    target = _first_candidate()
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "zh"))
    at.query_params["id"] = str(target.id)
    at.run()
    assert at.text_input(key="cand_edit_name").value == target.name

    at.text_input(key="cand_edit_name").input("我改的名字")
    with db.session_scope() as session:  # a colleague saves first
        session.exec(
            update(Candidate)
            .where(Candidate.id == target.id)
            .values(name="同事改的名字", version=Candidate.version + 1)
        )
        session.commit()
    submit(at, "cand_edit_form")
    assert_no_exception(at)

    assert len(at.warning) == 1
    assert at.warning[0].value.startswith(tr("cand.conflict", "zh", when="")[:12])
    assert at.text_input(key="cand_edit_name").value == "我改的名字"
    differences = next(d.value for d in at.dataframe if tr("cand.their_value", "zh") in d.value.columns)
    assert differences.values.tolist() == [[tr("field.name", "zh"), "同事改的名字", "我改的名字"]]
    with db.session_scope() as session:
        assert session.get(Candidate, target.id).name == "同事改的名字"

    # Keeping mine saves over theirs, from the version they saved.
    at.button(key="cand_keep_mine").click().run()
    assert_no_exception(at)
    assert not at.warning
    with db.session_scope() as session:
        saved = session.get(Candidate, target.id)
    assert (saved.name, saved.version) == ("我改的名字", target.version + 2)


def test_editing_a_candidate_twice_keeps_the_first_save_and_raises_no_false_conflict(demo_db, open_app):
    target = _first_candidate()
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "zh"))
    at.query_params["id"] = str(target.id)
    at.run()

    at.text_input(key="cand_edit_name").input("第一次保存")
    submit(at, "cand_edit_form")
    assert_no_exception(at)
    assert not at.warning

    # The second save starts from what the first one stored: the new name, and the version it made.
    assert at.text_input(key="cand_edit_name").value == "第一次保存"
    at.text_input(key="cand_edit_tags").input("复试, second")
    submit(at, "cand_edit_form")
    assert_no_exception(at)
    assert not at.warning
    with db.session_scope() as session:
        saved = session.get(Candidate, target.id)
    assert saved.name == "第一次保存"
    assert "second" in saved.tags
    assert saved.version == target.version + 2

    # A third click without a change stores nothing new and says nothing alarming.
    submit(at, "cand_edit_form")
    assert_no_exception(at)
    assert not at.warning and not at.error


def test_the_search_and_filters_are_still_set_after_opening_a_candidate_and_going_back(demo_db, open_app):
    """Streamlit forgets the value of a widget a run does not draw: the candidate's page draws no filters."""
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "zh")).run()
    at.selectbox(key="cand_f_stage").select("rejected").run()
    at.text_input(key="cand_q").input("a").run()
    at.selectbox(key="cand_page_size").select(50).run()
    assert_no_exception(at)
    at.query_params["id"] = str(_first_candidate().id)  # a row picked: the candidate opens
    at.run()
    assert all(s.key != "cand_f_stage" for s in at.selectbox)  # the list is not drawn
    at.button(key="cand_back").click().run()
    assert_no_exception(at)
    assert at.selectbox(key="cand_f_stage").value == "rejected"
    assert at.text_input(key="cand_q").value == "a"
    assert at.selectbox(key="cand_page_size").value == 50
