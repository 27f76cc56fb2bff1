from django import template

register = template.Library()


@register.filter
def timestamp(value) -> str:
    """Seconds as h:mm:ss (or m:ss under an hour)."""
    try:
        total = max(0, int(float(value)))
    except (TypeError, ValueError):
        return ""
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


@register.filter
def seconds(value) -> int:
    """Whole seconds, for media fragments (#t=N) and data attributes."""
    try:
        return max(0, int(float(value)))
    except (TypeError, ValueError):
        return 0


@register.simple_tag(takes_context=True)
def page_url(context, page_number) -> str:
    """The current URL with `page` replaced, keeping the other query parameters (search)."""
    query = context["request"].GET.copy()
    query["page"] = page_number
    return "?" + query.urlencode()
