from http import HTTPStatus

import pytest
from django.test import Client

from podcasts.models import Episode, Transcript
from tests.web.factories import make_summary

pytestmark = pytest.mark.django_db


def _titles(response) -> list[str]:
    return [episode.title for episode, _snippet in response.context["results"]]


def test_search_finds_titles_summaries_and_transcripts(make_podcast, make_episode):
    podcast = make_podcast()
    by_title = make_episode(podcast, title="Volcanoes of Iceland", transcript=False, tldr="Lava flows.")
    by_summary = make_episode(podcast, title="Episode two", transcript=False, tldr="A long talk about volcanoes.")
    by_transcript = make_episode(podcast, title="Episode three", tldr="Nothing relevant.")
    Transcript.objects.filter(episode=by_transcript).update(text="Then the volcano erupted at dawn.")
    make_episode(podcast, title="Unrelated", tldr="Gardening tips.")

    response = Client().get("/search/", {"q": "volcano"})

    assert response.status_code == HTTPStatus.OK
    titles = _titles(response)
    assert sorted(titles) == sorted([by_title.title, by_summary.title, by_transcript.title])


def test_search_ignores_hidden_episodes_and_unpublished_summaries(make_podcast, make_episode):
    podcast = make_podcast()
    hidden = make_episode(podcast, title="Hidden quasar", transcript=False)
    Episode.objects.filter(pk=hidden.pk).update(hidden=True)
    candidate_only = make_episode(podcast, title="Episode x", transcript=False, summary_version=None)
    make_summary(candidate_only, editorial_status="candidate", tldr="All about quasars.")
    curator_hidden = make_episode(podcast, title="Episode y", transcript=False, summary_version=None)
    make_summary(curator_hidden, editorial_status="hidden", tldr="All about quasars.")

    titles = _titles(Client().get("/search/", {"q": "quasar"}))

    assert titles == []


def test_search_snippets_are_escaped_and_highlighted(make_podcast, make_episode):
    episode = make_episode(make_podcast(), title="Episode", tldr="Plain.")
    Transcript.objects.filter(episode=episode).update(text="Beware <script>alert('x')</script> the kraken rises.")

    response = Client().get("/search/", {"q": "kraken"})

    body = response.content.decode()
    assert "<script>alert" not in body
    # PostgreSQL's ts_headline drops the tag, SQLite's snippet keeps it as text: escaped either way.
    assert "&lt;script&gt;" in body or "alert(&#x27;x&#x27;)" in body
    assert "<mark>kraken</mark>" in body


@pytest.mark.postgres_only
def test_postgres_search_ranks_title_matches_first_and_stems_words(make_podcast, make_episode):
    podcast = make_podcast()
    in_transcript = make_episode(podcast, title="Episode one", tldr="Other things.")
    Transcript.objects.filter(episode=in_transcript).update(text="We went fishing for salmon.")
    in_title = make_episode(podcast, title="Fishing in Norway", transcript=False, tldr="Boats.", days_ago=30)

    titles = _titles(Client().get("/search/", {"q": "fished"}))

    assert titles == [in_title.title, in_transcript.title]


@pytest.mark.postgres_only
def test_postgres_search_uses_stored_vectors_and_gin_indexes():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname IN "
            "('episode_title_fts', 'transcript_search_vector', 'summary_search_vector')"
        )
        names = {row[0] for row in cursor.fetchall()}
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT episode_id FROM podcasts_transcript "
            "WHERE search_vector @@ websearch_to_tsquery('english'::regconfig, 'x')"
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")

    assert names == {"episode_title_fts", "transcript_search_vector", "summary_search_vector"}
    assert "transcript_search_vector" in plan


@pytest.mark.postgres_only
def test_search_vectors_follow_new_and_changed_rows(make_podcast, make_episode):
    episode = make_episode(make_podcast(), title="Episode", tldr="Nothing yet.")
    Transcript.objects.filter(episode=episode).update(text="A talk about narwhals.")

    titles = _titles(Client().get("/search/", {"q": "narwhal"}))

    assert titles == ["Episode"]


def test_empty_search_shows_the_form_only(db):
    response = Client().get("/search/")

    assert response.status_code == HTTPStatus.OK
    assert response.context["results"] == []
