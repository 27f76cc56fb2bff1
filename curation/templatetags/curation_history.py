from django import template

from curation.models import CurationItem
from curation.selectors import curator_actions_for

register = template.Library()

HISTORY_LIMIT = 200


@register.inclusion_tag("curation/curator_history.html")
def curator_history(obj):
    """The CuratorAction log of `obj`, for the admin's History page of any model."""
    if obj is None or obj.pk is None:
        return {"actions": [], "more": False}
    # An inbox item's decisions point at the flagged object and name the item.
    actions_qs = obj.actions.all() if isinstance(obj, CurationItem) else curator_actions_for(obj)
    actions = list(actions_qs[: HISTORY_LIMIT + 1])
    return {"actions": actions[:HISTORY_LIMIT], "more": len(actions) > HISTORY_LIMIT}
