"""List pages read episode cards through SQL: it must agree with the ORM's visibility rules."""

from datetime import UTC, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from podcasts import selectors as podcast_selectors
from podcasts.models import Episode, Podcast
from summaries import selectors
from summaries.models import Delivery, Summary
from tests.factories import csrf_client, make_podcast, make_subscription, make_summarized_episode, make_summary, make_user

pytestmark = pytest.mark.django_db


def _current_tldr_by_orm(episode) -> str | None:
    summary = selectors.summaries_visible().filter(episode_id=episode.pk).first()
    current = selectors.summary_current(episode_id=episode.pk)  # the episode page's read, in SQL
    assert (current.pk if current else None) == (summary.pk if summary else None)
    return summary.content["tldr"] if summary else None


def _card(episode):
    cards = selectors.cards_by_id([episode.pk])
    return cards[0] if cards else None


@pytest.fixture
def episode(db):
    return make_summarized_episode(make_podcast(), title="Agreement", summary_version=None)


def _age(summary, *, minutes: int) -> Summary:
    Summary.objects.filter(pk=summary.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))
    return summary


@pytest.mark.parametrize(
    "states, expected",
    [
        ([], None),
        ([("candidate", "A candidate.")], None),
        ([("hidden", "Hidden by a curator.")], None),
        ([("retired", "Retired.")], None),
        ([("published", "Older."), ("published", "Newer.")], "Newer."),
        ([("featured", "Featured pick."), ("published", "Newer but not featured.")], "Featured pick."),
        ([("published", "Shown."), ("hidden", "Newer but hidden.")], "Shown."),
    ],
)
def test_card_tldr_is_the_current_summary_by_the_orm_rules(episode, states, expected):
    for age, (state, tldr) in enumerate(reversed(states)):
        _age(make_summary(episode, editorial_status=state, tldr=tldr), minutes=age + 1)

    assert _current_tldr_by_orm(episode) == expected
    assert _card(episode).current_tldr == expected


def test_card_skips_a_summary_made_for_a_regeneration_in_flight(episode):
    _age(make_summary(episode, tldr="The current one."), minutes=10)
    in_flight = make_summary(episode, prompt_version="v2", tldr="Made for the regeneration.")
    delivery = Delivery.objects.create(
        episode=episode, user=make_user(), kind=Delivery.Kind.REGENERATION, status=Delivery.Status.PROCESSING, summary=in_flight
    )

    assert _current_tldr_by_orm(episode) == _card(episode).current_tldr == "The current one."

    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.SENT)
    assert _current_tldr_by_orm(episode) == _card(episode).current_tldr == "Made for the regeneration."


def test_cards_leave_out_hidden_episodes_and_inactive_podcasts():
    shown = make_summarized_episode(make_podcast())
    hidden = make_summarized_episode(make_podcast())
    Episode.objects.filter(pk=hidden.pk).update(hidden=True)
    paused = make_summarized_episode(make_podcast(status=Podcast.Status.PENDING_APPROVAL))

    cards = selectors.cards_by_id([paused.pk, hidden.pk, shown.pk])

    assert [card.pk for card in cards] == [shown.pk]


def test_card_carries_links_an_aware_date_and_the_podcast(episode):
    card = _card(episode)

    assert card.get_absolute_url() == reverse("summaries:episode_detail", args=[episode.pk])
    assert card.podcast.get_absolute_url() == reverse("summaries:podcast_detail", args=[episode.podcast_id])
    assert str(card.podcast) == episode.podcast.title
    assert timezone.is_aware(card.published_at) and card.published_at == episode.published_at


def test_episode_cards_count_and_slice_like_a_list():
    podcast = make_podcast()
    made = [make_summarized_episode(podcast, days_ago=n) for n in range(5)]

    cards = selectors.podcast_episodes(podcast=podcast)

    assert len(cards) == cards.count() == 5
    assert [card.pk for card in cards[1:3]] == [made[1].pk, made[2].pk]
    assert cards[4].pk == made[4].pk
    assert [card.pk for card in cards[3:]] == [made[3].pk, made[4].pk]


def test_podcast_page_paginates_cards():
    podcast = make_podcast()
    made = [make_summarized_episode(podcast, days_ago=n, tldr=f"Summary {n}.") for n in range(23)]

    first = Client().get(podcast.get_absolute_url())
    second = Client().get(podcast.get_absolute_url(), {"page": 2})

    assert [card.pk for card in first.context["page_obj"]] == [e.pk for e in made[:20]]
    assert [card.pk for card in second.context["page_obj"]] == [e.pk for e in made[20:]]
    assert "Page 2 of 2" in second.content.decode() and "Summary 22." in second.content.decode()


def test_reverse_pk_follows_the_script_prefix(episode):
    from django.urls import set_script_prefix

    from config.urlcache import reverse_pk

    try:
        set_script_prefix("/castnotes/")
        assert reverse_pk("summaries:episode_detail", episode.pk) == f"/castnotes/episodes/{episode.pk}/"
    finally:
        set_script_prefix("/")
    assert reverse_pk("summaries:episode_detail", episode.pk) == f"/episodes/{episode.pk}/"


def test_cards_link_the_podcast_and_escape_feed_text_on_every_list_page():
    user = make_user()
    podcast = make_podcast("Tom & <i>Jerry</i>")
    make_subscription(user, podcast)
    episode = make_summarized_episode(podcast, title="Cheese <script>alert(1)</script>", tldr="Mice <b>win</b>.")
    podcast_link = f'<a href="{podcast.get_absolute_url()}">Tom &amp; &lt;i&gt;Jerry&lt;/i&gt;</a> · <time datetime="'

    pages = {
        "home": csrf_client(user).get("/"),
        "landing": Client().get("/"),
        "search": Client().get("/search/", {"q": "cheese"}),
    }

    for name, response in pages.items():
        body = response.content.decode()
        assert podcast_link in body, name
        assert f'<a href="{episode.get_absolute_url()}">Cheese &lt;script&gt;alert(1)&lt;/script&gt;</a>' in body, name
        assert "<script>alert" not in body and "<b>win</b>" not in body, name
    assert "Mice &lt;b&gt;win&lt;/b&gt;." in pages["home"].content.decode()


@pytest.mark.parametrize("audio_url", ["/episodes/7/audio?a=1&b=2", ""])
def test_transcript_items_link_each_line_like_seek_link_and_escape_its_text(audio_url):
    from podcasts.selectors import TranscriptLine
    from podcasts.templatetags.castnotes import seek_link, transcript_items

    lines = [TranscriptLine(start=75.4, text='A <b>bold</b> & "quoted" claim'), TranscriptLine(start=3725, text="Later.")]

    html = transcript_items(audio_url, lines)

    assert html == (
        f"<li>{seek_link(audio_url, 75.4)} <span>A &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot; claim</span></li>\n"
        f"<li>{seek_link(audio_url, 3725)} <span>Later.</span></li>"
    )


@pytest.mark.parametrize(
    "asked, shown, first_title",
    [("2", 2, "Summary 20."), ("9", 2, "Summary 20."), ("0", 2, "Summary 20."), ("x", 1, "Summary 0."), (None, 1, "Summary 0.")],
)
def test_podcast_page_numbers_out_of_range_or_invalid_fall_back_like_django(asked, shown, first_title):
    podcast = make_podcast()
    for n in range(23):
        make_summarized_episode(podcast, days_ago=n, tldr=f"Summary {n}.")

    response = Client().get(podcast.get_absolute_url(), {"page": asked} if asked is not None else {})

    page = response.context["page_obj"]
    assert page.number == shown and page.paginator.count == 23 and page.paginator.num_pages == 2
    assert page.object_list[0].current_tldr == first_title


def test_empty_list_page_counts_zero():
    response = csrf_client(make_user()).get("/", {"page": "3"})

    page = response.context["page_obj"]
    assert page.number == 1 and page.paginator.count == 0 and list(page) == []
    assert "Nothing here yet." in response.content.decode()


def test_a_list_page_costs_one_query_for_rows_and_total(django_assert_num_queries):
    from summaries.selectors import CardPaginator

    podcast = make_podcast()
    for n in range(23):
        make_summarized_episode(podcast, days_ago=n)

    with django_assert_num_queries(1):
        page = CardPaginator(selectors.podcast_episodes(podcast=podcast), 20).get_page(2)
        assert (page.paginator.count, page.paginator.num_pages, len(page.object_list)) == (23, 2, 3)


@pytest.mark.parametrize("with_transcript", [True, False])
def test_episode_page_reads_episode_podcast_and_transcript_in_one_query(with_transcript, django_assert_num_queries):
    episode = make_summarized_episode(make_podcast("Deep Sea"), transcript=with_transcript)

    with django_assert_num_queries(1):
        loaded = selectors.episode_page(pk=episode.pk)
        transcript = getattr(loaded, "transcript", None)
        assert str(loaded.podcast) == "Deep Sea" and loaded.podcast.get_absolute_url() == episode.podcast.get_absolute_url()

    assert (transcript is not None) == with_transcript
    if with_transcript:
        assert transcript.segments == episode.transcript.segments and transcript.get_source_display() == "Whisper"
        assert podcast_selectors.transcript_lines(transcript)[1].text == "Today we talk about turbines under the sea."


def test_episode_page_is_404_for_hidden_episodes_and_inactive_podcasts():
    hidden = make_summarized_episode(make_podcast())
    Episode.objects.filter(pk=hidden.pk).update(hidden=True)
    paused = make_summarized_episode(make_podcast(status=Podcast.Status.DISABLED))

    assert Client().get(hidden.get_absolute_url()).status_code == 404
    assert Client().get(paused.get_absolute_url()).status_code == 404
    assert Client().get("/episodes/987654/").status_code == 404


def test_podcast_page_reads_the_podcast_and_the_users_subscription_in_one_query(django_assert_num_queries):
    from django.contrib.auth.models import AnonymousUser

    from podcasts.models import Subscription

    user, other = make_user(), make_user()
    podcast = make_podcast("Tides")
    make_subscription(user, podcast)
    Subscription.objects.filter(user=user, podcast=podcast).update(notify_new_episodes=True)

    with django_assert_num_queries(1):
        loaded, subscription = selectors.podcast_page(pk=podcast.pk, user=user)
    assert loaded.title == "Tides" and subscription.notify_new_episodes is True and subscription.podcast == podcast
    assert selectors.podcast_page(pk=podcast.pk, user=other)[1] is None
    assert selectors.podcast_page(pk=podcast.pk, user=AnonymousUser())[1] is None
    Podcast.objects.filter(pk=podcast.pk).update(status=Podcast.Status.PENDING_APPROVAL)
    assert selectors.podcast_page(pk=podcast.pk, user=user) is None
    assert csrf_get(user, podcast.get_absolute_url()).status_code == 404


def csrf_get(user, url):
    return csrf_client(user).get(url)


def test_route_tag_matches_reverse_and_follows_the_script_prefix(episode):
    from django.urls import set_script_prefix

    from podcasts.templatetags.castnotes import route

    assert route("podcasts:podcast_list") == reverse("podcasts:podcast_list")
    assert route("summaries:episode_regenerate", episode.pk) == reverse("summaries:episode_regenerate", args=[episode.pk])
    try:
        set_script_prefix("/castnotes/")
        assert route("login") == "/castnotes/accounts/login/"
    finally:
        set_script_prefix("/")


def test_published_shows_the_day_in_the_current_time_zone():
    from datetime import datetime

    from podcasts.templatetags.castnotes import published

    late_utc = datetime(2025, 3, 4, 23, 30, tzinfo=UTC)

    assert published(late_utc) == '<time datetime="2025-03-04T23:30:00+00:00">4 Mar 2025</time>'
    with timezone.override("Europe/Paris"):
        assert published(late_utc) == '<time datetime="2025-03-05T00:30:00+01:00">5 Mar 2025</time>'
    assert published(None) == ""


def test_episode_page_links_every_timestamp_to_the_enclosure_escaped_once():
    import re

    episode = make_summarized_episode(make_podcast())
    Episode.objects.filter(pk=episode.pk).update(enclosure_url="https://media.example.com/a.mp3?x=1&y=2")

    body = Client().get(episode.get_absolute_url()).content.decode()

    hrefs = re.findall(r'class="seek" href="([^"]*)"', body)
    assert len(hrefs) >= 5  # chapters, quotes and transcript lines
    assert all(href.startswith("https://media.example.com/a.mp3?x=1&amp;y=2#t=") for href in hrefs), hrefs
