"""Rounds and criteria (issue 8): a round can be added, and a second click or a second save of the same
name adds nothing twice; saving again keeps what was saved before. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models.evaluation import Criterion, InterviewRound
from services.evaluate import evaluation
from services.platform.errors import ValidationError


def test_an_admin_adds_a_round_and_a_second_click_adds_nothing(session, make) -> None:
    admin = make.admin()
    before = len(evaluation.list_rounds(session=session, actor=admin))
    data = {"name_zh": "终面", "name_en": "Final", "bar": 3.5, "position": 9}
    added = evaluation.save_round(session=session, actor=admin, round_in=data)
    assert (added.name_en, added.bar, added.position, added.is_active) == ("Final", 3.5, 9, True)
    with pytest.raises(ValidationError) as err:
        evaluation.save_round(session=session, actor=admin, round_in=data)
    assert err.value.fields == {"name_zh": ("err.round_exists", {})}
    with pytest.raises(ValidationError) as err:  # the same English name, any case
        evaluation.save_round(session=session, actor=admin, round_in=data | {"name_zh": "其他", "name_en": "final"})
    assert err.value.fields == {"name_en": ("err.round_exists", {})}
    assert len(evaluation.list_rounds(session=session, actor=admin)) == before + 1


def test_editing_a_round_twice_keeps_the_first_change(session, make) -> None:
    admin = make.admin()
    final = evaluation.save_round(
        session=session, actor=admin, round_in={"name_zh": "终面", "name_en": "Final", "bar": 3.5, "position": 9}
    )
    evaluation.save_round(
        session=session,
        actor=admin,
        round_id=final.id,
        round_in={"name_zh": "终面", "name_en": "Final", "bar": 4.0, "position": 9},
    )
    evaluation.save_round(
        session=session,
        actor=admin,
        round_id=final.id,
        round_in={"name_zh": "终面", "name_en": "Final round", "bar": 4.0, "position": 9},
    )
    saved = session.get(InterviewRound, final.id)
    assert (saved.name_en, saved.bar) == ("Final round", 4.0)


def test_a_criterion_saved_twice_is_added_once_and_a_second_one_keeps_the_first(session, make) -> None:
    admin = make.admin()
    technical = next(r for r in evaluation.list_rounds(session=session, actor=admin) if r.name_en == "Technical")
    data = {"name_zh": "系统设计", "name_en": "System design", "weight": 2}
    evaluation.save_criterion(session=session, actor=admin, round_id=technical.id, criterion_in=data)
    with pytest.raises(ValidationError) as err:
        evaluation.save_criterion(session=session, actor=admin, round_id=technical.id, criterion_in=data)
    assert err.value.fields == {"name_zh": ("err.criterion_exists", {})}
    evaluation.save_criterion(
        session=session,
        actor=admin,
        round_id=technical.id,
        criterion_in={"name_zh": "代码质量", "name_en": "Code quality"},
    )
    names = [c.name_en for c in evaluation.criteria_for(session=session, round_id=technical.id, job_id=None)]
    assert names[-2:] == ["System design", "Code quality"] and names.count("System design") == 1
    design = session.exec(select(Criterion).where(Criterion.name_en == "System design")).one()
    # Editing a criterion under its own name is no duplicate.
    evaluation.save_criterion(
        session=session, actor=admin, round_id=technical.id, criterion_id=design.id, criterion_in=data | {"weight": 3}
    )
    assert session.get(Criterion, design.id).weight == 3
