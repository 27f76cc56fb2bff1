from http import HTTPStatus

import pytest
from django.test import Client

from podcasts.models import Episode, Transcript
from tests.factories import make_podcast, make_summarized_episode, make_summary

pytestmark = pytest.mark.django_db


def _titles(response) -> list[str]:
    return [episode.title for episode, _snippet in response.context["results"]]


def test_search_finds_titles_summaries_and_transcripts():
    podcast = make_podcast()
    by_title = make_summarized_episode(podcast, title="Volcanoes of Iceland", transcript=False, tldr="Lava flows.")
    by_summary = make_summarized_episode(podcast, title="Episode two", transcript=False, tldr="A long talk about volcanoes.")
    by_transcript = make_summarized_episode(podcast, title="Episode three", tldr="Nothing relevant.")
    Transcript.objects.filter(episode=by_transcript).update(text="Then the volcano erupted at dawn.")
    make_summarized_episode(podcast, title="Unrelated", tldr="Gardening tips.")

    response = Client().get("/search/", {"q": "volcano"})

    assert response.status_code == HTTPStatus.OK
    titles = _titles(response)
    assert sorted(titles) == sorted([by_title.title, by_summary.title, by_transcript.title])


def test_search_ignores_hidden_episodes_and_unpublished_summaries():
    podcast = make_podcast()
    hidden = make_summarized_episode(podcast, title="Hidden quasar", transcript=False)
    Episode.objects.filter(pk=hidden.pk).update(hidden=True)
    candidate_only = make_summarized_episode(podcast, title="Episode x", transcript=False, summary_version=None)
    make_summary(candidate_only, editorial_status="candidate", tldr="All about quasars.")
    curator_hidden = make_summarized_episode(podcast, title="Episode y", transcript=False, summary_version=None)
    make_summary(curator_hidden, editorial_status="hidden", tldr="All about quasars.")

    titles = _titles(Client().get("/search/", {"q": "quasar"}))

    assert titles == []


def test_search_snippets_are_escaped_and_highlighted():
    episode = make_summarized_episode(make_podcast(), title="Episode", tldr="Plain.")
    Transcript.objects.filter(episode=episode).update(text="Beware <script>alert('x')</script> the kraken rises.")

    response = Client().get("/search/", {"q": "kraken"})

    body = response.content.decode()
    assert "<script>alert" not in body
    # PostgreSQL's ts_headline drops the tag, SQLite's snippet keeps it as text: escaped either way.
    assert "&lt;script&gt;" in body or "alert(&#x27;x&#x27;)" in body
    assert "<mark>kraken</mark>" in body


@pytest.mark.postgres_only
def test_postgres_search_ranks_title_matches_first_and_stems_words():
    podcast = make_podcast()
    in_transcript = make_summarized_episode(podcast, title="Episode one", tldr="Other things.")
    Transcript.objects.filter(episode=in_transcript).update(text="We went fishing for salmon.")
    in_title = make_summarized_episode(podcast, title="Fishing in Norway", transcript=False, tldr="Boats.", days_ago=30)

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
def test_search_vectors_follow_new_and_changed_rows():
    episode = make_summarized_episode(make_podcast(), title="Episode", tldr="Nothing yet.")
    Transcript.objects.filter(episode=episode).update(text="A talk about narwhals.")

    titles = _titles(Client().get("/search/", {"q": "narwhal"}))

    assert titles == ["Episode"]


def test_empty_search_shows_the_form_only(db):
    response = Client().get("/search/")

    assert response.status_code == HTTPStatus.OK
    assert response.context["results"] == []


@pytest.mark.postgres_only
def test_postgres_search_ranks_once_then_pages_from_the_cache(settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.SEARCH_CACHE_SECONDS = 60
    podcast = make_podcast()
    for n in range(3):
        make_summarized_episode(podcast, title=f"Geysers {n}")

    with CaptureQueriesContext(connection) as first:
        assert len(_titles(Client().get("/search/", {"q": "geyser"}))) == 3
    with CaptureQueriesContext(connection) as second:
        assert len(_titles(Client().get("/search/", {"q": "geyser"}))) == 3

    def ranking(queries):
        return [q for q in queries.captured_queries if "ts_rank" in q["sql"]]

    assert len(ranking(first)) == 1 and ranking(second) == []


@pytest.mark.postgres_only
def test_cached_search_results_still_leave_out_an_episode_hidden_since(settings):
    settings.SEARCH_CACHE_SECONDS = 60
    podcast = make_podcast()
    kept = make_summarized_episode(podcast, title="Glaciers today")
    hidden = make_summarized_episode(podcast, title="Glaciers tomorrow")
    assert sorted(_titles(Client().get("/search/", {"q": "glacier"}))) == sorted([kept.title, hidden.title])

    Episode.objects.filter(pk=hidden.pk).update(hidden=True)

    assert _titles(Client().get("/search/", {"q": "glacier"})) == [kept.title]


@pytest.mark.postgres_only
def test_search_cache_can_be_turned_off(settings):
    settings.SEARCH_CACHE_SECONDS = 0
    podcast = make_podcast()
    make_summarized_episode(podcast, title="Fjords of the north")
    assert len(_titles(Client().get("/search/", {"q": "fjord"}))) == 1

    make_summarized_episode(podcast, title="Fjords of the south")

    assert len(_titles(Client().get("/search/", {"q": "fjord"}))) == 2


def test_snippet_comes_from_deep_inside_a_long_transcript():
    episode = make_summarized_episode(make_podcast(), title="Episode", tldr="Plain.")
    filler = "and then the conversation wandered somewhere else entirely " * 4000  # ~240 kB
    Transcript.objects.filter(episode=episode).update(text=filler + "Finally the turbine & <b>bearing</b> story.")

    body = Client().get("/search/", {"q": "turbine"}).content.decode()

    assert "<mark>turbine</mark>" in body
    assert "&lt;b&gt;" in body or "<b>" not in body
    assert "wandered" in body  # the window starts before the match


@pytest.mark.postgres_only
def test_postgres_snippet_finds_a_stemmed_match_in_a_long_transcript():
    episode = make_summarized_episode(make_podcast(), title="Episode", tldr="Plain.")
    Transcript.objects.filter(episode=episode).update(text="filler words here " * 5000 + "The turbine hums.")

    body = Client().get("/search/", {"q": "turbines"}).content.decode()

    assert "<mark>turbine</mark> hums" in body


def test_snippet_window_is_cut_at_whole_words_and_marks_stems_and_typed_words():
    from summaries.selectors import _marked_window
    from summaries.templatetags.cards import _snippet_html

    snippet = _snippet_html(
        _marked_window(
            "bines spin <slowly> while Turbines hum and the tides turn again and aga",
            words=["tides"],
            stems=["turbin"],
            cut_start=True,
            cut_end=True,
        )
    )

    assert str(snippet) == "… spin &lt;slowly&gt; while <mark>Turbines</mark> hum and the <mark>tides</mark> turn again and …"
