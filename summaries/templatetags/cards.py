import html

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe

from config.urlcache import pk_url_builder
from podcasts.templatetags.castnotes import time_html

register = template.Library()


def _snippet_html(snippet) -> str:
    """A search snippet's pieces (summaries.selectors.Snippet), each escaped, query words in <mark>."""
    return "".join(f"<mark>{html.escape(text)}</mark>" if marked else html.escape(text) for text, marked in snippet)


@register.simple_tag
def episode_cards(episodes, heading: str = "h3", show_podcast: bool = False, search: bool = False, staff: bool = False) -> str:
    """A list page's episode cards (home, podcast page, landing, search results).

    One tag for the whole list, not template markup or a tag per card: twenty cards
    per request made the template engine a quarter of those pages' time, resolving
    the same arguments, time zone and URL patterns for every card (docs/web.md).
    Every value arrives raw (summaries.selectors.EpisodeCard) and is escaped here,
    once, with html.escape. A card without a summary says where its episode is in the
    pipeline (summaries.status, from columns the card query already read; `staff`
    see why a failed one failed)."""
    if heading not in ("h2", "h3"):
        raise ValueError("episode_cards heading must be h2 or h3")
    tz = timezone.get_current_timezone()
    episode_url = pk_url_builder("summaries:episode_detail")
    podcast_url = pk_url_builder("summaries:podcast_detail")
    cards = []
    for episode in episodes:
        title = html.escape(episode.title or "Untitled episode")
        byline = ""
        if show_podcast:
            separator = " · " if episode.published_at else ""
            byline = f'<a href="{podcast_url(episode.podcast.pk)}">{html.escape(str(episode.podcast))}</a>{separator}'
        if episode.snippet:
            body = f'<p class="snippet">{_snippet_html(episode.snippet)}</p>'
        elif episode.current_tldr:
            body = f'<p class="tldr"><strong>TL;DR</strong> {html.escape(str(episode.current_tldr))}</p>'
        elif not search:
            status = episode.status(staff=staff) if episode.status_row else None
            if status is None or status.stage == "summarized":
                body = '<p class="muted">No summary yet.</p>'
            else:
                body = (
                    f'<p class="muted pipeline-status" data-stage="{html.escape(status.stage)}">'
                    f"No summary yet · {html.escape(status.detail)}</p>"
                )
        else:
            body = ""
        date = time_html(episode.published_at, tz) if episode.published_at else ""
        cards.append(
            f'<article class="card">\n  <{heading}><a href="{episode_url(episode.pk)}">{title}</a></{heading}>\n'
            f'  <p class="meta">{byline}{date}</p>\n  {body}\n</article>\n'
        )
    return mark_safe("".join(cards))
