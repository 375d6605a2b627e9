"""Importing candidates from CSV and Excel: reading many kinds of file, and all rows or none."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlmodel import Session, func, select

from models.candidate import Application, Candidate
from models.common import Language
from models.import_mapping import ImportMapping
from services.pipeline import importer, jobs
from services.pipeline.importer import ImportFileError
from services.platform.errors import NotAllowed


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def file_error(filename: str, content: bytes) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        importer.read_rows(filename=filename, content=content)
    return caught.value


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def errors(report: importer.ImportReport) -> list[tuple[int, str, str]]:
    return [(e.row, e.field, e.key) for e in report.errors]


def run(session: Session, actor, rows: list[dict[str, str]]) -> importer.ImportReport:
    return importer.import_candidates(session=session, actor=actor, rows=rows)


# --- reading files --------------------------------------------------------------------------------------------


def test_a_utf8_csv_with_a_bom_and_chinese_headers_is_read() -> None:
    content = '\ufeff姓名,邮箱,手机,微信号,标签\n张伟,zhang@example.com,+86 138 0013 8000,zw_1,"java,go"\n'.encode()
    assert importer.read_rows(filename="候选人.CSV", content=content) == [
        {
            "name": "张伟",
            "email": "zhang@example.com",
            "phone": "+86 138 0013 8000",
            "wechat_id": "zw_1",
            "tags": "java,go",
        }
    ]


def test_a_gb18030_csv_from_chinese_excel_is_read() -> None:
    content = "姓名,邮箱,手机,备注\r\n李娜,li.na@example.com,13912345678,北京大学毕业\r\n".encode("gb18030")
    [row] = importer.read_rows(filename="export.csv", content=content)
    assert row == {"name": "李娜", "email": "li.na@example.com", "phone": "13912345678", "notes": "北京大学毕业"}


def test_a_semicolon_separated_csv_is_read() -> None:
    content = (
        b"Name;Email;Phone;Tags\nEmma Wilson;emma@example.org;+44 20 7946 0958;react,figma\n"
        b"Noah Smith;noah@example.org;+44 20 7946 0000;\n"
    )
    rows = importer.read_rows(filename="people.csv", content=content)
    assert [r["name"] for r in rows] == ["Emma Wilson", "Noah Smith"]
    assert rows[0]["tags"] == "react,figma"
    assert rows[1]["phone"] == "+44 20 7946 0000"


def test_a_csv_with_only_a_name_column_is_read() -> None:
    assert importer.read_rows(filename="names.csv", content="姓名\n张伟\n李娜\n".encode()) == [
        {"name": "张伟"},
        {"name": "李娜"},
    ]


def test_unknown_columns_are_ignored_and_blank_lines_skipped_and_short_rows_padded() -> None:
    content = b"name,favourite colour,email,phone\nZhang Wei,blue,z@example.com\n,,,\n\nLi Na,red\n"
    assert importer.read_rows(filename="a.csv", content=content) == [
        {"name": "Zhang Wei", "email": "z@example.com", "phone": ""},
        {"name": "Li Na", "email": "", "phone": ""},
    ]


def test_an_excel_file_is_read_with_numbers_as_plain_digits() -> None:
    content = xlsx(
        [
            ["姓名", "邮箱", "手机", "负责人邮箱", "同意"],
            ["张伟", "zhang@example.com", 13800138000, "owner@example.com", "是"],
            [None, None, None, None, None],
            ["Emma Wilson", "emma@example.org", "+44 20 7946 0958", None, None],
        ]
    )
    rows = importer.read_rows(filename="list.xlsx", content=content)
    assert rows == [
        {
            "name": "张伟",
            "email": "zhang@example.com",
            "phone": "13800138000",
            "owner_email": "owner@example.com",
            "consent": "是",
        },
        {
            "name": "Emma Wilson",
            "email": "emma@example.org",
            "phone": "+44 20 7946 0958",
            "owner_email": "",
            "consent": "",
        },
    ]


def test_a_file_over_the_size_limit_is_refused(monkeypatch) -> None:
    error = file_error("big.csv", b"name\n" + b"x" * importer.MAX_BYTES)
    assert (error.key, error.params) == ("err.import_too_big", {"mb": 5})


@pytest.mark.parametrize("filename", ["people.pdf", "people.xls", "people", "people.csv.exe"])
def test_a_file_of_another_kind_is_refused(filename) -> None:
    assert file_error(filename, b"name\nZhang Wei\n").key == "err.import_format"


def test_a_broken_excel_file_is_refused() -> None:
    assert file_error("broken.xlsx", b"PK\x03\x04 not really a zip").key == "err.import_format"


def test_a_file_without_a_name_column_is_refused() -> None:
    assert file_error("a.csv", b"email,phone\nz@example.com,13800138000\n").key == "err.import_no_name_column"
    assert file_error("a.xlsx", xlsx([["邮箱"], ["z@example.com"]])).key == "err.import_no_name_column"


def test_an_empty_file_is_refused() -> None:
    assert file_error("a.csv", b"").key == "err.import_empty"
    assert file_error("a.csv", b"\n , \n").key == "err.import_empty"


def test_a_file_with_too_many_rows_is_refused() -> None:
    body = "".join(f"Person {i},p{i}@example.com\n" for i in range(importer.MAX_ROWS + 1))
    error = file_error("many.csv", ("name,email\n" + body).encode())
    assert (error.key, error.params) == ("err.import_too_many_rows", {"max": importer.MAX_ROWS})
    assert (
        len(importer.read_rows(filename="ok.csv", content=("name,email\n" + body.split("\n", 1)[1]).encode()))
        == importer.MAX_ROWS
    )


def test_an_excel_file_with_too_many_rows_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(importer, "MAX_ROWS", 3)
    content = xlsx([["name"]] + [[f"P{i}"] for i in range(10)])
    assert file_error("many.xlsx", content).key == "err.import_too_many_rows"


# --- importing rows -------------------------------------------------------------------------------------------


def test_a_good_file_creates_every_candidate_and_application(session, make) -> None:
    admin = make.admin()
    recruiter = make.user("recruiter", email="zhou.min@example.com")
    backend = make.job(actor=admin, title="Backend Engineer")
    design = make.job(actor=admin, title="Designer")
    content = (
        "姓名,邮箱,手机,负责人邮箱,职位,来源,语言,同意,标签\n"
        f"张伟,zhang@example.com,+86 138 0013 8000,ZHOU.MIN@example.com,backend engineer,referral,中文,是,java\n"
        f"Emma Wilson,emma@example.org,,,{design.id},campus,English,no,\n"
        "李娜,,139 1234 5678,,,,,,\n"
    ).encode()
    rows = importer.read_rows(filename="import.csv", content=content)
    report = run(session, admin, rows)
    assert report.ok and report.errors == []
    assert report.created == 3
    made = {c.name: c for c in session.exec(select(Candidate))}
    assert set(made) == {"张伟", "Emma Wilson", "李娜"}
    assert made["张伟"].owner_id == recruiter.id
    assert made["张伟"].consent is True and made["张伟"].consent_at is not None
    assert made["张伟"].source == "referral" and made["张伟"].tags == ",java,"
    assert made["Emma Wilson"].language == Language.en and made["Emma Wilson"].consent is False
    assert made["李娜"].owner_id == admin.id and made["李娜"].source == "other"
    apps = {(a.candidate_id, a.job_id) for a in session.exec(select(Application))}
    assert apps == {(made["张伟"].id, backend.id), (made["Emma Wilson"].id, design.id)}


def test_one_bad_row_means_no_candidate_is_created_and_the_row_is_named(session, make) -> None:
    recruiter = make.user("recruiter")
    rows = [
        {"name": "张伟", "email": "zhang@example.com"},
        {"name": "李娜", "email": "li.na@example"},
        {"name": "Emma", "email": "emma@example.org"},
    ]
    report = run(session, recruiter, rows)
    assert not report.ok
    assert report.created == 0
    assert errors(report) == [(3, "email", "err.email_invalid")]
    assert report.errors[0].value == "li.na@example"
    assert count(session, Candidate) == 0


def test_every_bad_row_is_reported_in_row_order(session, make) -> None:
    recruiter = make.user("recruiter")
    rows = [
        {"name": "", "email": "a@example.com"},
        {"name": "OK", "email": "ok@example.com"},
        {"name": "No contact"},
        {"name": "Bad phone", "phone": "12ab"},
        {"name": "Bad source", "email": "s@example.com", "source": "newspaper"},
    ]
    report = run(session, recruiter, rows)
    assert errors(report) == [
        (2, "name", "err.required"),
        (4, "__all__", "err.contact_required"),
        (5, "phone", "err.phone_invalid"),
        (6, "source", "err.import_choice"),
    ]
    assert count(session, Candidate) == 0


def test_duplicates_inside_the_file_are_reported_against_the_first_row(session, make) -> None:
    recruiter = make.user("recruiter")
    rows = [
        {"name": "张伟", "email": "zhang@example.com", "phone": "13800138000"},
        {"name": "Li Na", "email": "li@example.com"},
        {"name": "Zhang Wei", "email": "ZHANG@example.com"},
        {"name": "Wei", "email": "wei@example.com", "phone": "138-0013-8000"},
    ]
    report = run(session, recruiter, rows)
    assert errors(report) == [
        (4, "email", "err.import_duplicate_in_file"),
        (5, "phone", "err.import_duplicate_in_file"),
    ]
    assert [e.params for e in report.errors] == [{"row": 2}, {"row": 2}]
    assert count(session, Candidate) == 0


def test_rows_matching_existing_candidates_are_reported(session, make) -> None:
    recruiter = make.user("recruiter")
    by_email = make.candidate(actor=recruiter, name="张伟", email="zhang@example.com", phone="13800138000")
    by_phone = make.candidate(actor=recruiter, name="李娜", email="li@example.com", phone="+86 139 1234 5678")
    rows = [
        {"name": "New", "email": "new@example.com"},
        {"name": "Zhang Wei", "email": "Zhang@Example.com"},
        {"name": "Li Na", "email": "other@example.com", "phone": "86-139-1234-5678"},
    ]
    report = run(session, recruiter, rows)
    assert errors(report) == [(3, "email", "err.import_exists"), (4, "phone", "err.import_exists")]
    assert report.errors[0].params == {"id": by_email.id, "name": "张伟"}
    assert report.errors[1].params == {"id": by_phone.id, "name": "李娜"}
    assert count(session, Candidate) == 2


def test_an_unknown_owner_email_or_a_non_recruiter_owner_is_reported(session, make) -> None:
    admin = make.admin()
    make.user("interviewer", email="iv@example.com")
    make.user("recruiter", email="gone@example.com", is_active=False)
    rows = [
        {"name": "A", "email": "a@example.com", "owner_email": "nobody@example.com"},
        {"name": "B", "email": "b@example.com", "owner_email": "iv@example.com"},
        {"name": "C", "email": "c@example.com", "owner_email": "gone@example.com"},
    ]
    report = run(session, admin, rows)
    assert errors(report) == [
        (2, "owner_email", "err.not_a_recruiter"),
        (3, "owner_email", "err.not_a_recruiter"),
        (4, "owner_email", "err.not_a_recruiter"),
    ]
    assert report.errors[0].value == "nobody@example.com"
    assert count(session, Candidate) == 0


def test_an_unknown_or_closed_job_is_reported(session, make) -> None:
    admin = make.admin()
    closed = make.job(actor=admin, title="Old Role")
    jobs.update_job(session=session, actor=admin, job_id=closed.id, version=1, job_in={"status": "closed"})
    rows = [
        {"name": "A", "email": "a@example.com", "job": "Astronaut"},
        {"name": "B", "email": "b@example.com", "job": "old role"},
        {"name": "C", "email": "c@example.com", "job": str(closed.id)},
        {"name": "D", "email": "d@example.com", "job": "9999"},
    ]
    report = run(session, admin, rows)
    assert errors(report) == [(r, "job", "err.import_job_unknown") for r in (2, 3, 4, 5)]
    assert count(session, Candidate) == 0
    assert count(session, Application) == 0


def test_an_interviewer_cannot_import(session, make) -> None:
    with pytest.raises(NotAllowed):
        run(session, make.user("interviewer"), [{"name": "A", "email": "a@example.com"}])


def test_an_excel_import_runs_end_to_end(session, make) -> None:
    recruiter = make.user("recruiter")
    job = make.job(title="数据分析师")
    content = xlsx(
        [
            ["Name", "Email", "Phone", "Job", "Language"],
            ["王芳", "wang.fang@example.cn", 13912345678, "数据分析师", "zh"],
            ["Liam Brown", "liam@example.com", None, None, "en"],
        ]
    )
    report = run(session, recruiter, importer.read_rows(filename="x.xlsx", content=content))
    assert (report.ok, report.created) == (True, 2)
    wang = session.exec(select(Candidate).where(Candidate.name == "王芳")).one()
    assert (wang.phone, wang.owner_id) == ("13912345678", recruiter.id)
    assert session.exec(select(Application.job_id).where(Application.candidate_id == wang.id)).one() == job.id


# --- enum-like columns in either language (issue 8, broken 7) -------------------------------------------------


def test_sources_languages_and_consent_are_accepted_as_the_app_shows_them_in_either_language(session, make) -> None:
    recruiter = make.user("recruiter")
    rows = [
        {"name": "A", "email": "a@example.com", "source": "招聘网站", "language": "英文", "consent": "是"},
        {"name": "B", "email": "b@example.com", "source": "内推", "language": " English ", "consent": "YES"},
        {"name": "C", "email": "c@example.com", "source": " 内部推荐 ", "language": "中文", "consent": "否"},
        {"name": "D", "email": "d@example.com", "source": "Job Board", "language": "ZH", "consent": "no"},
        {"name": "E", "email": "e@example.com", "source": "CAREER_SITE", "language": "en", "consent": "同意"},
        {"name": "F", "email": "f@example.com", "source": "career site", "language": "", "consent": ""},
    ]
    report = run(session, recruiter, rows)
    assert report.errors == [] and report.created == 6
    made = {c.name: (c.source, c.language, c.consent) for c in session.exec(select(Candidate))}
    assert made == {
        "A": ("job_board", "en", True),
        "B": ("referral", "en", True),
        "C": ("referral", "zh", False),
        "D": ("job_board", "zh", False),
        "E": ("career_site", "en", True),
        "F": ("career_site", "zh", False),
    }


def test_an_unknown_source_language_or_consent_names_the_accepted_values(session, make) -> None:
    recruiter = make.user("recruiter")
    report = run(
        session,
        recruiter,
        [{"name": "A", "email": "a@example.com", "source": "newspaper", "language": "klingon", "consent": "maybe"}],
    )
    assert errors(report) == [
        (2, "source", "err.import_choice"),
        (2, "language", "err.import_choice"),
        (2, "consent", "err.import_choice"),
    ]
    source, language, consent = report.errors
    assert source.value == "newspaper"
    for word in ("内部推荐", "Referral", "招聘网站", "Job board", "referral"):
        assert word in source.params["accepted"]
    assert "zh" in language.params["accepted"] and "en" in language.params["accepted"]
    assert "是" in consent.params["accepted"] and "no" in consent.params["accepted"]
    assert count(session, Candidate) == 0


def test_a_job_is_found_by_its_title_whatever_the_case_and_spacing_and_the_error_lists_open_titles(
    session, make
) -> None:
    admin = make.admin()
    job = make.job(actor=admin, title="后端工程师 Backend Engineer")
    report = run(
        session,
        admin,
        [
            {"name": "A", "email": "a@example.com", "job": " 后端工程师  backend engineer "},
            {"name": "B", "email": "b@example.com", "job": "Astronaut"},
        ],
    )
    assert errors(report) == [(3, "job", "err.import_job_unknown")]
    assert "后端工程师 Backend Engineer" in report.errors[0].params["accepted"]
    report = run(session, admin, [{"name": "A", "email": "a@example.com", "job": "后端工程师backendengineer"}])
    assert report.ok
    assert session.exec(select(Application.job_id)).one() == job.id


# --- hostile and odd files (issue 8, security 7 and 8) --------------------------------------------------------


def xlsx_bomb(unpacked_mb: int) -> bytes:
    """A valid-looking .xlsx whose sheet XML unpacks to `unpacked_mb` MB of repeated rows, written in a stream."""
    import zipfile

    buf = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx([["name"], ["x"]]))) as good,
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb,
    ):
        for info in good.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                bomb.writestr(info.filename, good.read(info.filename))
        row = b'<row><c t="inlineStr"><is><t>' + b"A" * 1000 + b"</t></is></c></row>"
        with bomb.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(
                b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                b'spreadsheetml/2006/main"><sheetData>'
            )
            chunk = row * 1024
            for _ in range(unpacked_mb):
                sheet.write(chunk)
            sheet.write(b"</sheetData></worksheet>")
    return buf.getvalue()


def test_an_xlsx_zip_bomb_is_refused_before_it_is_parsed(monkeypatch) -> None:
    content = xlsx_bomb(64)
    assert len(content) < importer.MAX_BYTES

    def no_parse(*_a, **_k):
        raise AssertionError("the bomb reached openpyxl")

    import openpyxl

    monkeypatch.setattr(openpyxl, "load_workbook", no_parse)
    error = file_error("bomb.xlsx", content)
    assert (error.key, error.params) == ("err.import_xlsx_bomb", {"mb": importer.MAX_XLSX_UNPACKED // 2**20})


def test_an_xlsx_member_compressed_far_beyond_a_real_sheet_is_refused_even_when_small_in_total(monkeypatch) -> None:
    monkeypatch.setattr(importer, "MAX_XLSX_UNPACKED", 10 * 2**30)
    assert file_error("bomb.xlsx", xlsx_bomb(3)).key == "err.import_xlsx_bomb"


def test_an_xlsx_wider_than_the_column_limit_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(importer, "MAX_COLUMNS", 5)
    assert (
        file_error("wide.xlsx", xlsx([["name"] + [f"c{i}" for i in range(6)], ["A"] * 7])).key
        == "err.import_too_many_columns"
    )
    assert (
        file_error("wide.csv", ("name," + ",".join(f"c{i}" for i in range(6)) + "\nA\n").encode()).key
        == "err.import_too_many_columns"
    )


def cell_errors(filename: str, content: bytes) -> list[tuple[int, str, str, str]]:
    with pytest.raises(importer.ImportRowsError) as caught:
        importer.read_rows(filename=filename, content=content)
    return [(e.row, e.field, e.column, e.key) for e in caught.value.errors]


def test_a_nul_byte_in_a_csv_cell_is_named_by_row_and_column() -> None:
    content = b"Name,Email,Notes\nA,a@example.com,fine\nB\x00,b@example.com,ok\nC,c@example.com,bad\x00\n"
    assert cell_errors("nul.csv", content) == [
        (3, "name", "Name", "err.import_nul"),
        (4, "notes", "Notes", "err.import_nul"),
    ]


def test_a_cell_over_128_kib_is_named_by_row_and_column_in_csv_and_xlsx() -> None:
    huge = "x" * (129 * 1024)
    content = f"姓名,邮箱,备注\nA,a@example.com,short\nB,b@example.com,{huge}\n".encode()
    assert cell_errors("long.csv", content) == [(3, "notes", "备注", "err.import_cell_too_long")]
    book = xlsx([["姓名", "邮箱", "备注"], ["A", "a@example.com", "x" * 32_000], ["B", "b@example.com", "ok"]])
    assert len(importer.read_rows(filename="ok.xlsx", content=book)) == 2


def test_a_long_or_nul_cell_in_an_ignored_column_does_not_stop_the_import() -> None:
    content = ("name,email,whatever\nA,a@example.com," + "y" * 200_000 + "\nB\t,b@example.com,\x00\n").encode()
    assert [r["name"] for r in importer.read_rows(filename="a.csv", content=content)] == ["A", "B"]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_csv_from_chinese_excel_in_gbk_or_utf8_with_or_without_bom_is_read(encoding) -> None:
    content = "姓名,邮箱,来源\r\n王芳,wang@example.com,内推\r\n".encode(encoding)
    assert importer.read_rows(filename="x.csv", content=content) == [
        {"name": "王芳", "email": "wang@example.com", "source": "内推"}
    ]


def test_a_csv_in_no_known_encoding_gives_a_clear_message() -> None:
    assert file_error("x.csv", "name\nZoë\n".encode("utf-16")).key == "err.import_encoding"


def test_an_exported_file_imports_again_without_the_formula_quotes(session, make) -> None:
    from services.pipeline import candidates

    recruiter = make.user("recruiter")
    make.candidate(actor=recruiter, name="=Evil", email="evil@example.com", phone="+86 138 0013 8000")
    exported = "".join(candidates.export_candidates_csv(session=session, actor=recruiter)).encode("utf-8")
    [row] = importer.read_rows(filename="candidates.csv", content=exported)
    assert (row["name"], row["phone"]) == ("=Evil", "+86 138 0013 8000")


def test_nul_bytes_and_long_cells_reach_the_database_never_but_as_row_errors(session, make) -> None:
    recruiter = make.user("recruiter")
    content = b"name,email,notes\nA,a@example.com,x\x00y\n"
    with pytest.raises(importer.ImportRowsError) as caught:
        run(session, recruiter, importer.read_rows(filename="a.csv", content=content))
    assert caught.value.params == {"rows": 1}
    assert count(session, Candidate) == 0


# --- the column-mapping step (issue 8, broken 7) --------------------------------------------------------------


def test_headers_of_other_tools_and_spreadsheets_are_guessed_in_both_languages() -> None:
    header = [
        "First name",
        "Last name",
        "E-mail",
        "Mobile",
        "候选人姓名",
        "应聘职位",
        "Phone ",
        "手机",
        "来源",
        "Favourite colour",
        "候选人手机",
        "EMAIL ADDRESS",
        "渠道（必填）",
        "Notes*",
    ]
    assert importer.guess_mapping(header) == [
        "",
        "",
        "email",
        "phone",
        "name",
        "job",
        "",
        "",
        "source",
        "",
        "",
        "",
        "",
        "notes",
    ]
    assert importer.guess_mapping(["First name", "Last name", "Mobile Number", "候选人手机"]) == [
        "first_name",
        "last_name",
        "phone",
        "",
    ]
    assert importer.guess_mapping(["姓", "名", "手机号码", "电子邮箱", "简历来源", "应聘岗位"]) == [
        "last_name",
        "first_name",
        "phone",
        "email",
        "source",
        "job",
    ]
    assert importer.guess_mapping(["Ｅｍａｉｌ", "候选人邮箱"]) == ["email", ""]


def test_first_and_last_name_are_combined_into_the_name() -> None:
    table = importer.read_table(
        filename="x.csv",
        content=(
            "First name,Last name,Mobile,Notes\nEmma,Wilson,13800138000,x\n芳,王,13900139000,\nOnly,,,\n"
        ).encode(),
    )
    mapping = importer.guess_mapping(table.header)
    importer.check_mapping(mapping)
    rows = importer.apply_mapping(table, mapping)
    assert [r["name"] for r in rows] == ["Emma Wilson", "王芳", "Only"]
    assert rows[0] == {"name": "Emma Wilson", "phone": "13800138000", "notes": "x"}


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        (["", "", "email"], "err.import_name_unmapped"),
        (["name", "first_name", "email"], "err.import_name_and_parts"),
        (["name", "email", "email"], "err.import_mapped_twice"),
        (["name", "salary", ""], "err.choice_invalid"),
    ],
)
def test_a_mapping_without_the_name_or_with_a_field_twice_is_refused(mapping, key) -> None:
    from services.platform.errors import ValidationError

    with pytest.raises(ValidationError) as caught:
        importer.check_mapping(mapping)
    assert caught.value.fields["mapping"][0] == key


def test_a_confirmed_mapping_is_remembered_for_the_next_file_with_the_same_headers(session, make) -> None:
    recruiter, other = make.user("recruiter"), make.user("admin")
    header = ["Candidate", "E-mail", "Mobile", "Hobby"]
    assert importer.load_mapping(session=session, actor=recruiter, header=header) is None
    importer.save_mapping(session=session, actor=recruiter, header=header, mapping=["name", "email", "", "notes"])
    session.commit()
    # Another person, another spelling of the same headers (case, spaces, width): the same layout.
    same = [" candidate ", "E-MAIL", "mobile", "HOBBY"]
    assert importer.load_mapping(session=session, actor=other, header=same) == ["name", "email", "", "notes"]
    assert importer.load_mapping(session=session, actor=other, header=header[:3]) is None
    # Saving again replaces it; nothing else is kept beside it.
    importer.save_mapping(session=session, actor=other, header=same, mapping=["name", "email", "phone", ""])
    session.commit()
    assert importer.load_mapping(session=session, actor=recruiter, header=header) == ["name", "email", "phone", ""]
    assert count(session, ImportMapping) == 1


def test_a_bad_mapping_is_not_remembered_and_an_interviewer_cannot_save_one(session, make) -> None:
    from services.platform.errors import ValidationError

    recruiter = make.user("recruiter")
    with pytest.raises(ValidationError):
        importer.save_mapping(session=session, actor=recruiter, header=["a", "b"], mapping=["email", ""])
    with pytest.raises(ValidationError):
        importer.save_mapping(session=session, actor=recruiter, header=["a", "b"], mapping=["name"])
    with pytest.raises(NotAllowed):
        importer.save_mapping(session=session, actor=make.user("interviewer"), header=["a"], mapping=["name"])
    assert count(session, ImportMapping) == 0


def test_a_foreign_file_imports_end_to_end_through_a_corrected_mapping(session, make) -> None:
    recruiter = make.user("recruiter")
    job = make.job(title="数据分析师")
    content = xlsx(
        [
            ["候选人姓名", "E-mail", "Mobile", "应聘职位", "Remarks"],
            ["王芳", "wang@example.cn", 13912345678, "数据分析师", "via ![x](/session/end)"],
            ["Liam Brown", "liam@example.com", None, None, "=1+1"],
        ]
    )
    table = importer.read_table(filename="export.xlsx", content=content)
    mapping = importer.guess_mapping(table.header)
    assert mapping == ["name", "email", "phone", "job", "notes"]
    mapping[4] = ""  # the person decides not to import the remarks
    importer.check_mapping(mapping)
    report = run(session, recruiter, importer.apply_mapping(table, mapping))
    assert (report.ok, report.created) == (True, 2)
    wang = session.exec(select(Candidate).where(Candidate.name == "王芳")).one()
    assert (wang.phone, wang.notes) == ("13912345678", "")
    assert session.exec(select(Application.job_id)).one() == job.id


def test_a_row_after_blank_lines_is_named_by_its_line_in_the_file(session, make) -> None:
    recruiter = make.user("recruiter")
    content = b"name,email\nA,a@example.com\n\n,,\nB,not-an-email\n"
    report = run(session, recruiter, importer.read_rows(filename="a.csv", content=content))
    assert errors(report) == [(5, "email", "err.email_invalid")]
    book = xlsx([["name", "email"], [None, None], ["A", "bad"]])
    report = run(session, recruiter, importer.read_rows(filename="a.xlsx", content=book))
    assert errors(report) == [(3, "email", "err.email_invalid")]


def test_a_huge_xlsx_cell_is_a_row_error_naming_row_and_field(session, make) -> None:
    # openpyxl keeps at most Excel's 32,767 characters of a cell; what is left is still too long for notes.
    book = xlsx([["姓名", "邮箱", "备注"], ["A", "a@example.com", "ok"], ["B", "b@example.com", "y" * 140_000]])
    report = run(session, make.user("recruiter"), importer.read_rows(filename="long.xlsx", content=book))
    assert [(e.row, e.field) for e in report.errors] == [(3, "notes")]
    assert count(session, Candidate) == 0
