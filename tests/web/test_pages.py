from http import HTTPStatus

import pytest
from django.test import Client

from curation.models import CurationItem
from podcasts.models import Episode, Podcast, Profile, Subscription
from tests.factories import (
    csrf_client,
    csrf_post,
    make_podcast,
    make_subscription,
    make_summarized_episode,
    make_summary,
    make_user,
)

pytestmark = pytest.mark.django_db


def test_visitors_get_the_public_landing_with_recent_summaries():
    make_summarized_episode(make_podcast("Sea Power"), title="Tides", tldr="Tides turn turbines.")

    response = Client().get("/")

    assert response.status_code == HTTPStatus.OK
    assert "Sign up free" in response.content.decode()
    assert "Tides turn turbines." in response.content.decode()


def test_home_streams_subscribed_episodes_newest_first_with_tldr():
    user = make_user()
    followed, other = make_podcast("Followed"), make_podcast("Other")
    make_subscription(user, followed)
    old = make_summarized_episode(followed, title="Older one", days_ago=3, tldr="Old news.")
    new = make_summarized_episode(followed, title="Newer one", days_ago=1, tldr="Fresh news.")
    make_summarized_episode(other, title="Not followed")

    response = csrf_client(user).get("/")

    episodes = list(response.context["page_obj"])
    assert [episode.pk for episode in episodes] == [new.pk, old.pk]
    body = response.content.decode()
    assert "Fresh news." in body and "Not followed" not in body


def test_home_hides_episodes_of_hidden_or_pending_podcasts():
    user = make_user()
    pending = make_podcast("Pending", status=Podcast.Status.PENDING_APPROVAL)
    active = make_podcast("Active")
    make_subscription(user, pending)
    make_subscription(user, active)
    make_summarized_episode(pending, title="From pending")
    hidden = make_summarized_episode(active, title="Hidden by curator")
    Episode.objects.filter(pk=hidden.pk).update(hidden=True)

    body = csrf_client(user).get("/").content.decode()

    assert "From pending" not in body and "Hidden by curator" not in body


def test_directory_lists_active_podcasts_and_marks_subscriptions():
    user = make_user()
    mine = make_podcast("Mine")
    make_podcast("Theirs")
    make_podcast("Awaiting", status=Podcast.Status.PENDING_APPROVAL)
    make_subscription(user, mine)

    response = csrf_client(user).get("/podcasts/")

    podcasts = {p.title: p for p in response.context["page_obj"]}
    assert set(podcasts) == {"Mine", "Theirs"}
    assert podcasts["Mine"].subscribed and not podcasts["Theirs"].subscribed


def test_subscribe_and_unsubscribe_are_csrf_checked_posts():
    user = make_user()
    podcast = make_podcast()
    client = csrf_client(user)

    assert client.post(f"/podcasts/{podcast.pk}/subscribe/").status_code == HTTPStatus.FORBIDDEN
    assert client.get(f"/podcasts/{podcast.pk}/subscribe/").status_code == HTTPStatus.METHOD_NOT_ALLOWED

    subscribed = csrf_post(client, f"/podcasts/{podcast.pk}/subscribe/", {"notify_new_episodes": "1"})
    assert subscribed.status_code == HTTPStatus.SEE_OTHER
    subscription = Subscription.objects.get(user=user, podcast=podcast)
    assert subscription.notify_new_episodes
    assert "Unsubscribe" in client.get(podcast.get_absolute_url()).content.decode()

    csrf_post(client, f"/podcasts/{podcast.pk}/subscribe/", {"notify_new_episodes": "1"})
    assert Subscription.objects.filter(user=user, podcast=podcast).count() == 1

    unsubscribed = csrf_post(client, f"/podcasts/{podcast.pk}/unsubscribe/")
    assert unsubscribed.status_code == HTTPStatus.SEE_OTHER
    assert not Subscription.objects.filter(user=user, podcast=podcast).exists()


def test_subscribing_needs_a_login():
    podcast = make_podcast()
    client = csrf_client()

    response = csrf_post(client, f"/podcasts/{podcast.pk}/subscribe/")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/accounts/login/")
    assert not Subscription.objects.exists()


def test_feed_submission_creates_a_pending_podcast_and_a_p2_curation_item():
    user = make_user()
    client = csrf_client(user)

    response = csrf_post(client, "/podcasts/submit/", {"feed_url": "https://new.example.org/rss"})

    assert response.status_code == HTTPStatus.SEE_OTHER
    podcast = Podcast.objects.get(feed_url="https://new.example.org/rss")
    assert podcast.status == Podcast.Status.PENDING_APPROVAL
    assert podcast.submitted_by == user
    assert podcast.episodes.count() == 0  # not ingested
    item = CurationItem.objects.get()
    assert (item.flag_class, item.severity, item.object_id) == ("feed_submission", "P2", str(podcast.pk))
    assert item.proposed_action == "ingest_feed"


def test_submitting_the_same_feed_twice_keeps_one_podcast_and_one_item():
    client = csrf_client(make_user())
    csrf_post(client, "/podcasts/submit/", {"feed_url": "https://new.example.org/rss"})

    csrf_post(client, "/podcasts/submit/", {"feed_url": "https://new.example.org/rss"})

    assert Podcast.objects.count() == 1
    assert CurationItem.objects.count() == 1


def test_submitting_a_feed_already_in_the_directory_links_to_it():
    podcast = make_podcast()
    client = csrf_client(make_user())

    response = csrf_post(client, "/podcasts/submit/", {"feed_url": podcast.feed_url})

    assert response.status_code == HTTPStatus.SEE_OTHER
    assert response["Location"] == podcast.get_absolute_url()
    assert not CurationItem.objects.exists()


def test_feed_submission_refuses_non_http_urls():
    client = csrf_client(make_user())

    response = csrf_post(client, "/podcasts/submit/", {"feed_url": "ftp://example.org/rss"})

    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors
    assert not Podcast.objects.exists()


def test_pending_podcasts_are_not_public():
    podcast = make_podcast(status=Podcast.Status.PENDING_APPROVAL)

    assert Client().get(podcast.get_absolute_url()).status_code == HTTPStatus.NOT_FOUND


def test_episode_page_shows_summary_with_seekable_timestamps_and_collapsed_transcript():
    episode = make_summarized_episode(make_podcast())

    body = Client().get(episode.get_absolute_url()).content.decode()

    assert "Tidal turbines are coming of age." in body
    assert "Salt water wears bearings." in body
    # Quotes and chapters link to the audio at that second and carry data-seek for the player.
    assert f'href="{episode.enclosure_url}#t=75" data-seek="75">1:15</a>' in body
    assert '<audio id="player"' in body
    assert '<details class="transcript">' in body and '<details class="transcript" open' not in body
    assert 'Prompt <span class="prompt-version">v1</span> · extractive' in body


def test_export_links_are_for_signed_in_users():
    episode = make_summarized_episode(make_podcast())

    anonymous = Client().get(episode.get_absolute_url()).content.decode()
    signed_in = csrf_client(make_user()).get(episode.get_absolute_url()).content.decode()

    assert f"/episodes/{episode.pk}/transcript.vtt" not in anonymous
    for ext in ("vtt", "srt", "json", "txt"):
        assert f"/episodes/{episode.pk}/transcript.{ext}" in signed_in


def test_curator_hidden_summary_is_not_shown_the_newest_published_one_is():
    episode = make_summarized_episode(make_podcast(), tldr="The published one.")
    make_summary(episode, prompt_version="v2", editorial_status="hidden", tldr="The hidden one.")
    make_summary(episode, prompt_version="v2", editorial_status="candidate", tldr="The candidate.")
    make_summary(episode, prompt_version="v2", editorial_status="retired", tldr="The retired one.")

    body = Client().get(episode.get_absolute_url()).content.decode()

    assert "The published one." in body
    assert "The hidden one." not in body and "The candidate." not in body and "The retired one." not in body


def test_featured_summary_wins_over_a_newer_published_one():
    episode = make_summarized_episode(make_podcast(), summary_status="featured", tldr="Featured older.")
    make_summary(episode, prompt_version="v2", editorial_status="published", tldr="Published newer.")

    body = Client().get(episode.get_absolute_url()).content.decode()

    assert "Featured older." in body and "Published newer." not in body
    assert '<span class="badge featured">Featured</span>' in body


def test_feed_and_llm_text_is_escaped():
    episode = make_summarized_episode(make_podcast(), title="<script>alert(1)</script>", tldr="<img src=x onerror=alert(2)>")

    body = Client().get(episode.get_absolute_url()).content.decode()

    assert "<script>alert(1)</script>" not in body
    assert "&lt;img src=x onerror=alert(2)&gt;" in body


def test_staff_see_the_editorial_state():
    episode = make_summarized_episode(make_podcast())

    staff_body = csrf_client(make_user(is_staff=True)).get(episode.get_absolute_url()).content.decode()
    reader_body = csrf_client(make_user()).get(episode.get_absolute_url()).content.decode()

    assert '<span class="badge">Published</span>' in staff_body
    assert '<span class="badge">Published</span>' not in reader_body


def test_hidden_episode_is_404():
    episode = make_summarized_episode(make_podcast())
    Episode.objects.filter(pk=episode.pk).update(hidden=True)

    assert Client().get(episode.get_absolute_url()).status_code == HTTPStatus.NOT_FOUND


def test_pages_have_no_inline_script():
    user = make_user(plan=Profile.Plan.PREMIUM)
    episode = make_summarized_episode(make_podcast())
    client = csrf_client(user)

    for url in ("/", "/podcasts/", episode.get_absolute_url(), "/search/?q=tidal", "/podcasts/submit/"):
        body = client.get(url).content.decode()
        assert "<script>" not in body and "onclick" not in body and "style=" not in body
        assert '<script src="/static/js/castnotes.js" defer></script>' in body
