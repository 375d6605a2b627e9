"""A first check that the fixtures work on every backend."""

from services.pipeline import candidates


def test_recruiter_finds_a_candidate_by_part_of_the_phone_number(make, session) -> None:
    recruiter = make.user("recruiter")
    make.candidate(actor=recruiter, name="张伟", phone="+86 138 0013 8000")
    result = candidates.search_candidates(session=session, actor=recruiter, q="0013 8000")
    assert [r["name"] for r in result.rows] == ["张伟"]
