from django import template

from curation.selectors import curator_actions_for

register = template.Library()

HISTORY_LIMIT = 200


@register.inclusion_tag("curation/curator_history.html")
def curator_history(obj):
    """The CuratorAction log of `obj`, for the admin's History page of any model."""
    if obj is None or obj.pk is None:
        return {"actions": [], "more": False}
    actions = list(curator_actions_for(obj)[: HISTORY_LIMIT + 1])
    return {"actions": actions[:HISTORY_LIMIT], "more": len(actions) > HISTORY_LIMIT}
