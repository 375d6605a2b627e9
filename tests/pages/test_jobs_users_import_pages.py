"""The jobs, users and import pages: each one's main action, its refusals and its messages."""

from __future__ import annotations

import io

from openpyxl import Workbook
from sqlmodel import func, select

from models.candidate import Application, Candidate
from models.job import Job
from models.user import User
from services.platform import db
from tests.pages.conftest import ROLE_EMAILS, demo_user
from tests.pages.support import assert_no_exception, element_after, submit, tn, tr


def _count(model: type) -> int:
    with db.session_scope() as session:
        return session.exec(select(func.count()).select_from(model)).one()


# --------------------------------------------------------------------------- jobs
def test_a_recruiter_creates_a_job_from_the_jobs_page(demo_db, open_app):
    manager = demo_user(ROLE_EMAILS["hiring_manager"])
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "zh")).run()
    at.switch_page("pages/jobs.py").run()
    assert at.subheader[0].value == tr("jobs.new", "zh")
    at.text_input(key="jobs_edit_title").input("数据工程师 Data Engineer")
    at.text_input(key="jobs_edit_department").input("数据 Data")
    at.text_input(key="jobs_edit_location").input("深圳 Shenzhen")
    at.number_input(key="jobs_edit_headcount").set_value(3)
    at.selectbox(key="jobs_edit_hiring_manager_id").set_value(manager.id)
    submit(at, "jobs_form")
    assert_no_exception(at)

    assert tr("jobs.saved", "zh", title="数据工程师 Data Engineer") in [s.value for s in at.success]
    with db.session_scope() as session:
        job = session.exec(select(Job).where(Job.title == "数据工程师 Data Engineer")).one()
    assert (job.department, job.location, job.headcount, job.hiring_manager_id, job.status) == (
        "数据 Data",
        "深圳 Shenzhen",
        3,
        manager.id,
        "open",
    )
    listed = at.dataframe[0].value
    assert "数据工程师 Data Engineer" in listed[tr("field.title", "zh")].tolist()
    # The form now edits the saved job; closing it takes it off the list of open jobs.
    assert at.subheader[0].value == tr("jobs.edit", "zh")
    assert at.text_input(key="jobs_edit_title").value == "数据工程师 Data Engineer"
    at.button(key="jobs_close").click().run()
    assert_no_exception(at)
    with db.session_scope() as session:
        assert session.get(Job, job.id).status == "closed"
    assert "数据工程师 Data Engineer" not in at.dataframe[0].value[tr("field.title", "zh")].tolist()
    assert at.subheader[0].value == tr("jobs.new", "zh")
    assert at.text_input(key="jobs_edit_title").value == ""


def test_a_job_without_a_title_is_refused_next_to_the_title(demo_db, open_app):
    before = _count(Job)
    at = open_app(demo_user(ROLE_EMAILS["admin"], "en")).run()
    at.switch_page("pages/jobs.py").run()
    at.text_input(key="jobs_edit_department").input("Design")
    submit(at, "jobs_form")
    assert_no_exception(at)
    assert element_after(at, "jobs_edit_title").value == tr("err.required", "en")
    assert at.text_input(key="jobs_edit_department").value == "Design"
    assert _count(Job) == before


def test_an_interviewer_sees_the_jobs_but_no_form_to_change_them(demo_db, open_app):
    at = open_app(demo_user(ROLE_EMAILS["interviewer"], "en")).run().switch_page("pages/jobs.py").run()
    assert at.title[0].value == tr("nav.jobs", "en")
    assert len(at.dataframe[0].value) > 0
    assert not [w for w in at.text_input if str(w.key).startswith("jobs_edit")]


# --------------------------------------------------------------------------- users
def _fill_user(at, *, name: str, email: str, roles: list[str]) -> None:
    at.text_input(key="users_new_name").input(name)
    at.text_input(key="users_new_email").input(email)
    at.multiselect(key="users_new_roles").set_value(roles)
    at.text_input(key="users_new_password").input("welcome-to-hr-7")


def test_an_admin_creates_a_user_and_a_second_one_with_the_same_email_is_refused(demo_db, open_app):
    at = open_app(demo_user(ROLE_EMAILS["admin"], "zh")).run()
    at.switch_page("pages/users.py").run()
    assert_no_exception(at)
    _fill_user(at, name="孙丽 Sun Li", email="Sun.Li@Example.com", roles=["interviewer", "hiring_manager"])
    submit(at, "users_new_form")
    assert_no_exception(at)

    assert tr("users.created", "zh", name="孙丽 Sun Li") in [s.value for s in at.success]
    with db.session_scope() as session:
        created = session.exec(select(User).where(User.email == "sun.li@example.com")).one()
    assert created.role_set == {"interviewer", "hiring_manager"}
    assert "sun.li@example.com" in at.dataframe[0].value[tr("field.email", "zh")].tolist()
    assert at.text_input(key="users_new_email").value == ""

    before = _count(User)
    _fill_user(at, name="另一个孙丽", email="sun.li@example.com", roles=["recruiter"])
    submit(at, "users_new_form")
    assert_no_exception(at)
    assert element_after(at, "users_new_email").value == tr("err.email_taken", "zh")
    assert at.text_input(key="users_new_name").value == "另一个孙丽"
    assert _count(User) == before


def test_a_new_user_with_a_weak_password_is_refused_next_to_the_password(demo_db, open_app):
    at = open_app(demo_user(ROLE_EMAILS["admin"], "en")).run()
    at.switch_page("pages/users.py").run()
    _fill_user(at, name="Weak Pass", email="weak@example.com", roles=["interviewer"])
    at.text_input(key="users_new_password").input("aaaaaaaaaaaa")
    submit(at, "users_new_form")
    assert element_after(at, "users_new_password").value == tr("err.password_weak", "en")
    with db.session_scope() as session:
        assert session.exec(select(User).where(User.email == "weak@example.com")).first() is None


# --------------------------------------------------------------------------- import
BAD_CSV = (
    "姓名,邮箱,手机,来源,语言,同意\n"
    "林子涵,lin.zihan@example.com,+86 138 0000 1111,referral,zh,是\n"
    "Olivia King,not-an-email,,career_site,en,yes\n"
    ",no.name@example.com,,other,zh,\n"
)
GOOD_CSV = (
    "name,email,phone,source,language,consent,job\n"
    "林子涵,lin.zihan@example.com,+86 138 0000 1111,referral,zh,yes,\n"
    "Olivia King,olivia.king@example.com,,career_site,en,yes,后端工程师 Backend Engineer\n"
)


def _upload(at, name: str, content: bytes, mime: str = "text/csv") -> None:
    at.file_uploader(key="import_file").set_value((name, content, mime)).run()
    at.button(key="import_run").click().run()
    assert_no_exception(at)


def test_an_import_with_bad_rows_lists_each_row_and_imports_nothing(demo_db, open_app):
    before = _count(Candidate)
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "zh")).run()
    at.switch_page("pages/import_candidates.py").run()
    _upload(at, "candidates.csv", BAD_CSV.encode("utf-8"))

    assert [e.value for e in at.error] == [tn("import.failed", 2, "zh", rows=2)]
    report = at.dataframe[-1].value  # the preview of the file comes first
    rows = report[[tr("import.row", "zh"), tr("common.field", "zh"), tr("import.problem", "zh")]].values.tolist()
    assert rows == [
        [3, tr("field.email", "zh"), tr("err.email_invalid", "zh")],
        [4, tr("field.name", "zh"), tr("err.required", "zh")],
    ]
    assert report[tr("import.value", "zh")].tolist()[0] == "not-an-email"
    assert _count(Candidate) == before


def test_a_good_file_imports_every_row_with_its_application(demo_db, open_app):
    before = (_count(Candidate), _count(Application))
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "en")).run()
    at.switch_page("pages/import_candidates.py").run()
    _upload(at, "candidates.csv", GOOD_CSV.encode("utf-8-sig"))

    assert [s.value for s in at.success] == [tn("import.done", 2, "en", count=2)]
    assert not at.error
    assert (_count(Candidate), _count(Application)) == (before[0] + 2, before[1] + 1)
    with db.session_scope() as session:
        olivia = session.exec(select(Candidate).where(Candidate.email == "olivia.king@example.com")).one()
    assert (olivia.language, olivia.owner_id) == ("en", demo_user(ROLE_EMAILS["recruiter"]).id)


def test_an_excel_file_imports_and_a_wrong_file_type_is_refused(demo_db, open_app):
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机", "标签"])
    sheet.append(["郑浩然", 13800002222, "go, 985"])
    data = io.BytesIO()
    book.save(data)
    before = _count(Candidate)
    at = open_app(demo_user(ROLE_EMAILS["admin"], "zh")).run()
    at.switch_page("pages/import_candidates.py").run()
    _upload(at, "people.xlsx", data.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert [s.value for s in at.success] == [tn("import.done", 1, "zh", count=1)]
    assert _count(Candidate) == before + 1

    _upload(at, "people.csv", b"\x00\x01not a table")
    assert at.error, "an unreadable file must give a message"
    assert _count(Candidate) == before + 1


# --------------------------------------------------------------------------- import: the column-mapping step
FOREIGN_HEADER = ["First name", "Last name", "E-mail", "Handy", "应聘职位", "来源", "![x](/session/end)"]


def _foreign_csv(*people: tuple[str, str, str, str]) -> bytes:
    lines = [",".join(FOREIGN_HEADER)]
    lines += [
        f"{first},{last},{email},{phone},后端工程师 Backend Engineer,内推,hello" for first, last, email, phone in people
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _picker(at, column: int):
    from services.pipeline.importer import header_signature

    return at.selectbox(key=f"import_map_{header_signature(FOREIGN_HEADER)[:12]}_{column}")


def _choose_file(at, name: str, content: bytes) -> None:
    at.file_uploader(key="import_file").set_value((name, content, "text/csv")).run()
    assert_no_exception(at)


def test_a_file_with_foreign_headers_is_matched_corrected_imported_and_its_matching_remembered(demo_db, open_app):
    before = (_count(Candidate), _count(Application))
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "en")).run()
    at.switch_page("pages/import_candidates.py").run()
    _choose_file(at, "export.csv", _foreign_csv(("Emma", "Wilson", "emma.w@example.org", "+44 20 7946 0958")))

    # The guess, shown as one picker per column; the hostile header is plain text, not Markdown.
    assert [_picker(at, i).value for i in range(7)] == ["first_name", "last_name", "email", "", "job", "source", ""]
    assert "![x](/session/end)" in [t.value for t in at.text]
    assert not any("session/end" in m.value for m in at.markdown)
    _picker(at, 3).set_value("phone")
    _picker(at, 6).set_value("notes")
    at.button(key="import_run").click().run()
    assert_no_exception(at)
    assert [s.value for s in at.success] == [tn("import.done", 1, "en", count=1)]
    assert (_count(Candidate), _count(Application)) == (before[0] + 1, before[1] + 1)
    with db.session_scope() as session:
        emma = session.exec(select(Candidate).where(Candidate.email == "emma.w@example.org")).one()
    assert (emma.name, emma.phone, emma.source, emma.notes) == ("Emma Wilson", "+44 20 7946 0958", "referral", "hello")

    # Second time: the next file with the same headers starts from the confirmed matching; the person changes
    # it again (no notes this time) and imports; what the first import created is still there.
    at = open_app(demo_user(ROLE_EMAILS["admin"], "zh")).run()
    at.switch_page("pages/import_candidates.py").run()
    _choose_file(at, "export-2.csv", _foreign_csv(("芳", "王", "wang.f@example.cn", "13912345678")))
    assert tr("import.mapping_remembered", "zh") in [i.value for i in at.info]
    assert [_picker(at, i).value for i in range(7)] == [
        "first_name",
        "last_name",
        "email",
        "phone",
        "job",
        "source",
        "notes",
    ]
    _picker(at, 6).set_value("")
    at.button(key="import_run").click().run()
    assert [s.value for s in at.success] == [tn("import.done", 1, "zh", count=1)]
    with db.session_scope() as session:
        wang = session.exec(select(Candidate).where(Candidate.email == "wang.f@example.cn")).one()
        assert session.exec(select(Candidate).where(Candidate.email == "emma.w@example.org")).one().notes == "hello"
    assert (wang.name, wang.notes) == ("王芳", "")
    _choose_file(at, "export-3.csv", _foreign_csv(("A", "B", "ab@example.cn", "13912345670")))
    assert _picker(at, 6).value == ""


def test_a_matching_without_a_name_column_is_refused_and_nothing_is_imported(demo_db, open_app):
    before = _count(Candidate)
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "zh")).run()
    at.switch_page("pages/import_candidates.py").run()
    _choose_file(at, "export.csv", _foreign_csv(("Emma", "Wilson", "emma.w@example.org", "")))
    _picker(at, 0).set_value("")
    _picker(at, 1).set_value("")
    at.button(key="import_run").click().run()
    assert [e.value for e in at.error] == [tr("err.import_name_unmapped", "zh")]
    _picker(at, 1).set_value("email")
    at.button(key="import_run").click().run()
    assert [e.value for e in at.error] == [tr("err.import_mapped_twice", "zh", target=tr("field.email", "zh"))]
    assert _count(Candidate) == before


def test_unreadable_cells_and_bombs_are_reported_by_row_and_column_on_the_page(demo_db, open_app):
    before = _count(Candidate)
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "en")).run()
    at.switch_page("pages/import_candidates.py").run()
    _choose_file(at, "nul.csv", b"Name,Email\nA,a@example.com\nB\x00,b@example.com\n")
    at.button(key="import_run").click().run()
    assert_no_exception(at)
    assert [e.value for e in at.error] == [tn("err.import_cells", 1, "en", rows=1)]
    report = at.dataframe[-1].value
    assert report[[tr("import.row", "en"), tr("import.column", "en"), tr("import.problem", "en")]].values.tolist() == [
        [3, "Name", tr("err.import_nul", "en")]
    ]
    assert _count(Candidate) == before


def test_a_second_click_on_import_creates_nobody_twice(demo_db, open_app):
    before = _count(Candidate)
    at = open_app(demo_user(ROLE_EMAILS["recruiter"], "en")).run()
    at.switch_page("pages/import_candidates.py").run()
    _choose_file(at, "export.csv", _foreign_csv(("Emma", "Wilson", "emma.w@example.org", "")))
    at.button(key="import_run").click().run()
    assert [s.value for s in at.success] == [tn("import.done", 1, "en", count=1)]
    at.button(key="import_run").click().run()
    assert_no_exception(at)
    assert not at.success and [e.value for e in at.error] == [tn("import.failed", 1, "en", rows=1)]
    assert _count(Candidate) == before + 1
