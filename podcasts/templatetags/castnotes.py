import html

from django import template
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.safestring import mark_safe

from config.urlcache import reverse_pk, reverse_static

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
    """A timestamp link; `href` is the audio URL, escaped by the caller ("" without audio)."""
    label = timestamp(start)
    if not href:
        return f'<span class="seek">{label}</span>'
    at = seconds(start)
    return f'<a class="seek" href="{href}#t={at}" data-seek="{at}">{label}</a>'


@register.simple_tag
def seek_link(audio_url: str, start) -> str:
    """A timestamp: a link to the audio at that second (works without JavaScript) that
    castnotes.js turns into a seek of the page's player. A tag, not an include: an
    episode page renders hundreds of them. `audio_url` is the raw URL."""
    return mark_safe(_seek_html(html.escape(audio_url) if audio_url else "", start))


_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def time_html(value, tz=None) -> str:
    """<time> markup of an aware datetime in `tz` (the current time zone by default)."""
    if value.tzinfo is not None:
        value = value.astimezone(tz or timezone.get_current_timezone())
    return f'<time datetime="{value.isoformat()}">{value.day} {_MONTHS[value.month]} {value.year}</time>'


@register.simple_tag
def published(value) -> str:
    """A publication date as <time>, e.g. 5 Mar 2025 in the current time zone: one call
    per card instead of two |date filters, which dominated a list page's render time."""
    return mark_safe(time_html(value)) if value else ""


def _ad_title(ad) -> str:
    return f"Sponsor: {ad.label}" if ad.label else "Sponsor"


@register.simple_tag
def transcript_items(audio_url: str, lines, ad_ranges=()) -> str:
    """The transcript's <li>s, each a seek link and its text: an hour of speech is a
    thousand lines, too many for a template loop. Lines inside an ad span
    (podcasts.ad_spans.AdRange) are folded into one collapsed, labelled item
    ("Sponsor: Acme · 1:52")."""
    # Raw values in, each escaped once here, not through a format_html per line: for a
    # thousand lines the lazy-string checks of format_html cost more than the text.
    href = html.escape(audio_url) if audio_url else ""
    ads = list(ad_ranges)
    items: list[str] = []
    folded: list[str] = []
    current = None

    def close() -> None:
        if current is not None:
            title = html.escape(_ad_title(current))
            items.append(
                f'<li class="ad-span" data-ad-start="{seconds(current.start)}" data-ad-end="{seconds(current.end)}">'
                f"<details><summary>{title} · {_seek_html(href, current.start)}</summary>"
                f"<ol>{''.join(folded)}</ol></details></li>"
            )

    for line in lines:
        line_html = f"<li>{_seek_html(href, line.start)} <span>{html.escape(line.text)}</span></li>"
        ad = next((ad for ad in ads if ad.start <= line.start < ad.end), None)
        if ad is not current:
            close()
            folded = []
            current = ad
        if current is None:
            items.append(line_html)
        else:
            folded.append(line_html)
    close()
    return mark_safe("\n".join(items))


@register.simple_tag
def route(name: str, pk=None) -> str:
    """{% url %} for the site's own routes that take no argument or just a primary key,
    resolved once per name (config.urlcache): every page's header has five of them."""
    return reverse_static(name) if pk is None else reverse_pk(name, pk)
