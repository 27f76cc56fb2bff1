"""Real concurrency on PostgreSQL: row locks keep every decision logged exactly once."""

import pytest

from curation.models import CurationItem, CuratorAction
from curation.services import (
    CurationError,
    curation_item_resolve,
    editorial_transition,
    enqueue_for_review,
)
from summaries.models import Summary
from tests.factories import make_summary
from tests.support.concurrency import run_at_once


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_curators_resolving_one_item_log_one_resolution(episode, curator, superuser):
    summary = make_summary(episode, editorial_status="published", prompt_version="v2")
    item = enqueue_for_review(target=summary, flag_class="unverified_quote", severity="P1", proposed_action="hide_summary")

    results = run_at_once(
        lambda: curation_item_resolve(CurationItem.objects.get(pk=item.pk), actor=curator, resolution="a"),
        lambda: curation_item_resolve(CurationItem.objects.get(pk=item.pk), actor=superuser, resolution="b"),
    )

    assert sorted(results) == [False, True]
    assert CuratorAction.objects.filter(action="curation_item_resolve").count() == 1
    assert CuratorAction.objects.filter(action="editorial_transition").count() == 1
    assert Summary.objects.get(pk=summary.pk).editorial_status == "hidden"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("curator_state", ["featured", "hidden"])
def test_curator_and_automation_racing_never_lose_the_curators_state(episode, curator, curator_state):
    summary = make_summary(episode, editorial_status="published", prompt_version="v2")

    results = run_at_once(
        lambda: editorial_transition(Summary.objects.get(pk=summary.pk), curator_state, actor=curator, reason="curator"),
        lambda: editorial_transition(
            Summary.objects.get(pk=summary.pk), "retired", actor=None, reason="superseded", automated=True
        ),
    )

    final = Summary.objects.get(pk=summary.pk).editorial_status
    moves = list(CuratorAction.objects.order_by("id").values_list("from_state", "to_state"))
    if final == curator_state:
        # The curator won; automation then met a sticky state and was refused.
        assert results[0] is True and isinstance(results[1], CurationError)
        assert moves == [("published", curator_state)]
    else:
        # Automation retired it first; the curator's move from retired is refused, nothing lost silently.
        assert final == "retired"
        assert isinstance(results[0], CurationError) and results[1] is True
        assert moves == [("published", "retired")]
