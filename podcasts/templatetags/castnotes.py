import html

from django import template
from django.utils import timezone
from django.utils.html import conditional_escape, escape, strip_tags
from django.utils.safestring import mark_safe

from config.urlcache import pk_url_builder, reverse_pk, reverse_static

register = template.Library()


@register.filter
def timestamp(value) -> str:
    """Seconds as h:mm:ss (or m:ss under an hour)."""
    try:
        total = max(0, int(float(value)))
    except (TypeError, ValueError, OverflowError):  # OverflowError: infinity
        return ""
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


@register.filter
def plain_text(value) -> str:
    """Feed HTML (already sanitized at ingest) as plain text; the result is never marked safe,
    so the template escapes it again on output."""
    return html.unescape(strip_tags(value or "")).strip()


@register.filter
def seconds(value) -> int:
    """Whole seconds, for media fragments (#t=N) and data attributes."""
    try:
        return max(0, int(float(value)))
    except (TypeError, ValueError, OverflowError):  # OverflowError: infinity
        return 0


@register.simple_tag(takes_context=True)
def page_url(context, page_number) -> str:
    """The current URL with `page` replaced, keeping the other query parameters (search)."""
    query = context["request"].GET.copy()
    query["page"] = page_number
    return "?" + query.urlencode()


def _seek_html(href: str, start) -> str:
    """A timestamp link; `href` is the audio URL already escaped ("" without audio)."""
    label = timestamp(start)
    if not href:
        return f'<span class="seek">{label}</span>'
    at = seconds(start)
    return f'<a class="seek" href="{href}#t={at}" data-seek="{at}">{label}</a>'


@register.simple_tag
def seek_link(audio_url: str, start) -> str:
    """A timestamp: a link to the audio at that second (works without JavaScript) that
    castnotes.js turns into a seek of the page's player. A tag, not an include: an
    episode page renders hundreds of them."""
    return mark_safe(_seek_html(conditional_escape(audio_url) if audio_url else "", start))


_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _time_html(value, tz=None) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(tz or timezone.get_current_timezone())
    return f'<time datetime="{value.isoformat()}">{value.day} {_MONTHS[value.month]} {value.year}</time>'


@register.simple_tag
def published(value) -> str:
    """A publication date as <time>, e.g. 5 Mar 2025 in the current time zone: one call
    per card instead of two |date filters, which dominated a list page's render time."""
    return mark_safe(_time_html(value)) if value else ""


@register.simple_tag
def episode_cards(episodes, heading: str = "h3", show_podcast: bool = False, search: bool = False) -> str:
    """A list page's episode cards (home, podcast page, landing, search results).

    One tag for the whole list, not template markup or a tag per card: twenty cards
    per request made the template engine a quarter of those pages' time, resolving
    the same arguments, time zone and URL patterns for every card. Every value is
    escaped here with html.escape (what django.utils.html.escape does for a str);
    a search snippet arrives already escaped and marked safe."""
    if heading not in ("h2", "h3"):
        raise ValueError("episode_cards heading must be h2 or h3")
    tz = timezone.get_current_timezone()
    episode_url = pk_url_builder("podcasts:episode_detail")
    podcast_url = pk_url_builder("podcasts:podcast_detail")
    cards = []
    for episode in episodes:
        title = html.escape(episode.title or "Untitled episode")
        byline = ""
        if show_podcast:
            separator = " · " if episode.published_at else ""
            byline = f'<a href="{podcast_url(episode.podcast.pk)}">{html.escape(str(episode.podcast))}</a>{separator}'
        snippet = getattr(episode, "snippet", None)
        if snippet:
            body = f'<p class="snippet">{conditional_escape(snippet)}</p>'
        elif episode.current_tldr:
            body = f'<p class="tldr"><strong>TL;DR</strong> {html.escape(str(episode.current_tldr))}</p>'
        elif not search:
            body = '<p class="muted">No summary yet.</p>'
        else:
            body = ""
        date = _time_html(episode.published_at, tz) if episode.published_at else ""
        cards.append(
            f'<article class="card">\n  <{heading}><a href="{episode_url(episode.pk)}">{title}</a></{heading}>\n'
            f'  <p class="meta">{byline}{date}</p>\n  {body}\n</article>\n'
        )
    return mark_safe("".join(cards))


@register.simple_tag
def transcript_items(audio_url: str, lines) -> str:
    """The transcript's <li>s, each a seek link and its text: an hour of speech is a
    thousand lines, too many for a template loop."""
    # Escaped once per value, not through a format_html per line: for a thousand lines
    # the lazy-string checks of format_html cost more than the text. The URL may arrive
    # already escaped ({% firstof %}), hence conditional_escape.
    href = conditional_escape(audio_url) if audio_url else ""
    return mark_safe("\n".join(f"<li>{_seek_html(href, line.start)} <span>{escape(line.text)}</span></li>" for line in lines))


@register.simple_tag
def route(name: str, pk=None) -> str:
    """{% url %} for the site's own routes that take no argument or just a primary key,
    resolved once per name (config.urlcache): every page's header has five of them."""
    return reverse_static(name) if pk is None else reverse_pk(name, pk)
