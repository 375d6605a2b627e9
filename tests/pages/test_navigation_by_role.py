"""Each role sees the pages it may open, in both languages, and nothing else — the services refuse the rest."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models.candidate import Application, Candidate
from models.job import Job
from services.pipeline import candidates, importer
from services.platform import db, users
from services.platform.errors import NotAllowed
from tests.pages.conftest import ROLE_EMAILS, demo_user, open_page_alone
from tests.pages.support import all_text, assert_no_exception, nav_pages, tr

# The pages each demo role must find in its navigation, with the title each shows …
ROLE_PAGES = {
    "admin": {
        "pages/candidates.py": "nav.candidates",
        "pages/jobs.py": "nav.jobs",
        "pages/import_candidates.py": "nav.import",
        "pages/users.py": "nav.users",
        "pages/account.py": "nav.account",
    },
    "recruiter": {
        "pages/candidates.py": "nav.candidates",
        "pages/jobs.py": "nav.jobs",
        "pages/import_candidates.py": "nav.import",
        "pages/account.py": "nav.account",
    },
    "hiring_manager": {
        "pages/candidates.py": "nav.candidates",
        "pages/jobs.py": "nav.jobs",
        "pages/account.py": "nav.account",
    },
    "interviewer": {"pages/jobs.py": "nav.jobs", "pages/account.py": "nav.account"},
}
# … and the pages it must not find there.
FORBIDDEN = {
    "admin": set(),
    "recruiter": {"pages/users.py"},
    "hiring_manager": {"pages/users.py", "pages/import_candidates.py"},
    "interviewer": {"pages/users.py", "pages/import_candidates.py", "pages/candidates.py"},
}
SIGNED_OUT_PAGES = {"pages/sign_in.py", "pages/setup.py", "pages/no_access.py"}


def _visible_candidate_id(email: str) -> int:
    """A candidate the demo user may open (for a hiring manager: one applying to their job)."""
    with db.session_scope() as session:
        if email == ROLE_EMAILS["hiring_manager"]:
            manager = demo_user(email)
            query = (
                select(Application.candidate_id)
                .join(Job, Job.id == Application.job_id)
                .where(Job.hiring_manager_id == manager.id)
            )
            return session.exec(query).first()
        return session.exec(select(Candidate.id).order_by(Candidate.id)).first()


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("role", list(ROLE_PAGES))
def test_each_role_opens_every_page_of_its_navigation_without_an_error(demo_db, open_app, role, language):
    user = demo_user(ROLE_EMAILS[role], language)
    at = open_app(user).run()
    assert_no_exception(at)
    offered = nav_pages(at)
    assert set(ROLE_PAGES[role]) <= offered
    assert not offered & (FORBIDDEN[role] | SIGNED_OUT_PAGES)
    for page in sorted(offered):  # every page registered, also ones this test does not know by name
        at.switch_page(page).run()
        assert_no_exception(at)
        if page in ROLE_PAGES[role]:
            assert at.title[0].value == tr(ROLE_PAGES[role][page], language), page
        assert not at.error, (page, [e.value for e in at.error])
    # The sidebar is in the user's language too.
    assert at.sidebar.button(key="frame_sign_out").label == tr("nav.sign_out", language)


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("role", ["admin", "recruiter", "hiring_manager"])
def test_each_role_that_sees_candidates_opens_a_candidate_without_an_error(demo_db, open_app, role, language):
    email = ROLE_EMAILS[role]
    candidate_id = _visible_candidate_id(email)
    at = open_app(demo_user(email, language))
    at.query_params["id"] = str(candidate_id)
    at.run()
    assert_no_exception(at)
    assert not at.error, [e.value for e in at.error]
    tabs = [t.label for t in at.tabs]
    for key in ("cand.tab_applications", "cand.tab_edit", "cand.tab_timeline", "cand.tab_audit"):
        assert tr(key, language) in tabs
    editable = role != "hiring_manager"
    assert ("cand_edit_name" in [w.key for w in at.text_input]) is editable
    assert (tr("cand.read_only", language) in [i.value for i in at.info]) is not editable


def test_a_user_without_any_role_sees_only_the_waiting_page(demo_db, open_app):
    with db.session_scope() as session:
        admin = demo_user(ROLE_EMAILS["admin"])
        nobody = users.create_user(
            session=session,
            actor=admin,
            user_in={"name": "New Person", "email": "new.person@example.com", "roles": [], "language": "en"},
        )
    at = open_app(nobody).run()
    assert_no_exception(at)
    assert nav_pages(at) == {"pages/no_access.py"}
    assert at.title[0].value == tr("noaccess.title", "en")


@pytest.mark.parametrize("role", ["interviewer", "hiring_manager", "recruiter"])
def test_pages_outside_a_roles_navigation_cannot_be_switched_to(demo_db, open_app, role):
    at = open_app(demo_user(ROLE_EMAILS[role])).run()
    for page in sorted(FORBIDDEN[role]):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)


def test_an_interviewer_reaching_the_candidates_page_gets_an_error_and_no_candidate(demo_db):
    interviewer = demo_user(ROLE_EMAILS["interviewer"])
    with db.session_scope() as session:
        some = session.exec(select(Candidate).order_by(Candidate.id)).all()
    at = open_page_alone("pages/candidates.py", interviewer).run()
    assert_no_exception(at)
    assert [e.value for e in at.error] == [tr("err.not_allowed", "zh")]
    assert not at.dataframe
    page = all_text(at)
    assert not any(c.name in page or c.email in page for c in some)
    # Straight to one candidate (e.g. a shared link with ?id=): refused too.
    at = open_page_alone("pages/candidates.py", interviewer)
    at.query_params["id"] = str(some[0].id)
    at.run()
    assert tr("err.not_allowed", "zh") in [e.value for e in at.error]
    assert some[0].name not in all_text(at)
    with db.session_scope() as session, pytest.raises(NotAllowed):
        candidates.search_candidates(session=session, actor=interviewer)
    with db.session_scope() as session, pytest.raises(NotAllowed):
        candidates.get_candidate_detail(session=session, actor=interviewer, candidate_id=some[0].id)


@pytest.mark.parametrize("role", ["interviewer", "recruiter", "hiring_manager"])
def test_a_non_admin_reaching_the_users_page_gets_an_error_and_no_accounts(demo_db, role):
    actor = demo_user(ROLE_EMAILS[role])
    at = open_page_alone("pages/users.py", actor).run()
    assert_no_exception(at)
    assert [e.value for e in at.error] == [tr("err.not_allowed", actor.language)]
    assert not at.dataframe and not at.text_input
    assert "admin@example.com" not in all_text(at)
    with db.session_scope() as session, pytest.raises(NotAllowed):
        users.create_user(
            session=session,
            actor=actor,
            user_in={"name": "Sneaky", "email": "sneaky@example.com", "roles": ["admin"], "language": "zh"},
        )


def test_a_hiring_manager_reaching_the_import_page_cannot_import(demo_db):
    manager = demo_user(ROLE_EMAILS["hiring_manager"])
    at = open_page_alone("pages/import_candidates.py", manager).run()
    at.file_uploader(key="import_file").set_value(
        ("people.csv", b"name,email\nEve Adams,eve@example.com\n", "text/csv")
    ).run()
    at.button(key="import_run").click().run()
    assert_no_exception(at)
    assert [e.value for e in at.error] == [tr("err.not_allowed", manager.language)]
    with db.session_scope() as session:
        assert not session.exec(select(Candidate).where(Candidate.email == "eve@example.com")).first()
        with pytest.raises(NotAllowed):
            importer.import_candidates(session=session, actor=manager, rows=[{"name": "Eve", "email": "e@x.io"}])


@pytest.mark.parametrize("role", list(ROLE_PAGES))
def test_the_navigation_is_exactly_what_the_policy_table_opens_to_the_role(demo_db, open_app, role):
    from services.platform import policy

    user = demo_user(ROLE_EMAILS[role], "en")
    at = open_app(user).run()
    assert_no_exception(at)
    assert nav_pages(at) == {page.path for page in policy.pages_for(user)}
