"""The curation actions summaries carries out (registered in SummariesConfig.ready())."""

from curation.models import CurationItem
from curation.services import ProposedActionFailed, editorial_transition, proposed_action_target
from summaries.generation import SummaryGenerationError
from summaries.services import episode_resummarize


def hide_summary(item: CurationItem, actor) -> str:
    summary = proposed_action_target(item, "summaries.summary")
    changed = editorial_transition(
        summary, "hidden", actor=actor, reason=f"curation item {item.pk}: {item.get_flag_class_display()}"
    )
    return "summary hidden" if changed else "summary was already hidden"


def resummarize(item: CurationItem, actor) -> str:
    """An item on an episode, or on one of its summaries: the episode is summarized again."""
    target = item.content_type.model_class()
    label = target._meta.label_lower if target is not None else ""
    if label == "summaries.summary":
        episode_id = proposed_action_target(item, "summaries.summary").episode_id
    else:
        episode_id = proposed_action_target(item, "podcasts.episode").pk
    try:
        delivery = episode_resummarize(episode_id=episode_id, actor=actor)
    except SummaryGenerationError as exc:
        raise ProposedActionFailed(str(exc)) from None
    if delivery is None:
        return "episode back to the summarize stage"
    return f"fresh summary requested (delivery {delivery.pk}); the current one stays until it is ready"
