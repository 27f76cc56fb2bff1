import itertools

import pytest

from curation.models import CuratorAction
from curation.services import (
    AUTOMATION_MOVES,
    EDITORIAL_MOVES,
    IllegalTransition,
    StickyState,
    editorial_transition,
)
from summaries.models import EditorialStatus, Summary
from tests.factories import make_summary

STATES = list(EditorialStatus.values)
# Spelled out from DESIGN.md so the map in the code is checked against the design, not itself.
ALLOWED = {
    ("candidate", "published"),
    ("published", "featured"),
    ("published", "hidden"),
    ("featured", "hidden"),
    ("hidden", "published"),
    ("candidate", "retired"),
    ("published", "retired"),
    ("featured", "retired"),
    ("hidden", "retired"),
}
PAIRS = [(a, b) for a, b in itertools.product(STATES, STATES) if a != b]


def test_the_move_map_is_exactly_the_designed_one():
    in_code = {(a, b) for a, targets in EDITORIAL_MOVES.items() for b in targets}
    assert in_code == ALLOWED
    assert set(EDITORIAL_MOVES) == set(STATES)


@pytest.mark.parametrize(("start", "to"), sorted(ALLOWED))
def test_allowed_move_changes_state_and_logs_one_action(episode, curator, start, to):
    summary = make_summary(episode, editorial_status=start, prompt_version="v2")
    before = Summary.objects.get(pk=summary.pk).editorial_changed_at

    changed = editorial_transition(summary, to, actor=curator, reason="looks right")

    assert changed is True
    stored = Summary.objects.get(pk=summary.pk)
    assert stored.editorial_status == to
    assert stored.editorial_changed_at > before
    action = CuratorAction.objects.get()
    assert (action.actor, action.actor_label, action.action) == (curator, "curator", "editorial_transition")
    assert (action.from_state, action.to_state, action.reason) == (start, to, "looks right")
    assert action.object_id == str(summary.pk)


@pytest.mark.parametrize(("start", "to"), sorted(set(PAIRS) - ALLOWED))
def test_illegal_move_raises_a_clear_error_and_writes_nothing(episode, curator, start, to):
    summary = make_summary(episode, editorial_status=start, prompt_version="v2")

    with pytest.raises(IllegalTransition, match=f"cannot move from {start} to {to}"):
        editorial_transition(summary, to, actor=curator, reason="try")

    assert Summary.objects.get(pk=summary.pk).editorial_status == start
    assert CuratorAction.objects.count() == 0


@pytest.mark.parametrize("state", STATES)
def test_repeating_the_current_state_is_a_no_op(episode, curator, state):
    summary = make_summary(episode, editorial_status=state, prompt_version="v2")
    before = Summary.objects.get(pk=summary.pk).editorial_changed_at

    changed = editorial_transition(summary, state, actor=curator, reason="again")

    assert changed is False
    assert Summary.objects.get(pk=summary.pk).editorial_changed_at == before
    assert CuratorAction.objects.count() == 0


def test_unknown_state_is_refused_by_name(summary, curator):
    with pytest.raises(IllegalTransition, match="'archived' is not an editorial state"):
        editorial_transition(summary, "archived", actor=curator, reason="")


def test_move_uses_the_stored_state_not_a_stale_copy(summary, curator):
    stale = Summary.objects.get(pk=summary.pk)
    editorial_transition(summary, "published", actor=curator, reason="")
    editorial_transition(summary, "featured", actor=curator, reason="")

    # The stale copy still says candidate; the move is judged from featured.
    assert editorial_transition(stale, "hidden", actor=curator, reason="") is True
    assert [a.from_state for a in CuratorAction.objects.order_by("id")] == ["candidate", "published", "featured"]


@pytest.mark.parametrize(("start", "to"), sorted(AUTOMATION_MOVES))
def test_automation_may_publish_a_candidate_and_retire_a_superseded_summary(episode, start, to):
    summary = make_summary(episode, editorial_status=start, prompt_version="v2")

    assert editorial_transition(summary, to, actor=None, reason="pipeline", automated=True) is True

    action = CuratorAction.objects.get()
    assert action.actor is None
    assert action.actor_label == "system:automation"


def test_automation_can_name_its_stage(summary):
    editorial_transition(summary, "published", actor=None, reason="", automated=True, actor_label="system:summarize")

    assert CuratorAction.objects.get().actor_label == "system:summarize"


@pytest.mark.parametrize(("start", "to"), sorted(ALLOWED - AUTOMATION_MOVES))
def test_automation_cannot_make_curator_moves(episode, start, to):
    summary = make_summary(episode, editorial_status=start, prompt_version="v2")

    with pytest.raises(IllegalTransition, match=f"Automation cannot move summary {summary.pk} from {start} to {to}"):
        editorial_transition(summary, to, actor=None, reason="pipeline", automated=True)

    assert Summary.objects.get(pk=summary.pk).editorial_status == start
    assert CuratorAction.objects.count() == 0


@pytest.mark.parametrize("sticky", ["featured", "hidden"])
@pytest.mark.parametrize("to", ["published", "retired", "candidate"])
def test_automation_never_undoes_featured_or_hidden(episode, curator, sticky, to):
    summary = make_summary(episode, editorial_status="published", prompt_version="v2")
    editorial_transition(summary, sticky, actor=curator, reason="curator's call")

    with pytest.raises(StickyState, match=f"a curator set it {sticky}"):
        editorial_transition(summary, to, actor=None, reason="re-summarize", automated=True)

    assert Summary.objects.get(pk=summary.pk).editorial_status == sticky
    assert CuratorAction.objects.count() == 1


@pytest.mark.parametrize("sticky", ["featured", "hidden"])
def test_automation_repeating_a_curator_state_is_a_quiet_no_op(episode, curator, sticky):
    summary = make_summary(episode, editorial_status="published", prompt_version="v2")
    editorial_transition(summary, sticky, actor=curator, reason="")

    assert editorial_transition(summary, sticky, actor=None, reason="", automated=True) is False
    assert CuratorAction.objects.count() == 1


def test_a_failing_log_write_rolls_the_move_back(summary, curator, monkeypatch):
    """The move and its CuratorAction share one transaction."""
    from curation import services

    def broken_record(**kwargs):
        raise RuntimeError("log write failed")

    monkeypatch.setattr(services, "curator_action_record", broken_record)

    with pytest.raises(RuntimeError):
        editorial_transition(summary, "published", actor=curator, reason="")

    assert Summary.objects.get(pk=summary.pk).editorial_status == "candidate"
