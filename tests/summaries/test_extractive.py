"""The offline extractive summarizer: valid, verbatim, deterministic, fast on hours of talk."""

import json

import pytest

from summaries.llm import ProviderRejected, transcript_input, transcript_summarize
from summaries.llm.extractive import summarize
from summaries.llm.language import fold, language_get, zipf
from summaries.llm.prepare import EpisodeContext
from summaries.prompts import prompt_get
from summaries.quotes import quotes_verify
from summaries.schema import SENTENCE_BREAK, summary_validate
from tests.fakes.transcripts import long_transcript, short_transcript
from tests.support.corpus import fixture_episode


def summary_terms(sentence: str) -> list[str]:
    """A sentence's specific words (not stop words, rare in general use): what it is about."""
    lang = language_get("en")
    return [w for w in fold(sentence).split() if w not in lang.stop_words and zipf(w) < 4.0]


def run(transcript):
    return transcript_summarize(transcript["segments"], provider="extractive", prompt_version="v2")


def test_short_episode_summary_is_valid_and_its_points_and_quotes_verbatim():
    transcript = short_transcript()
    texts = [s["text"] for s in transcript["segments"]]

    result = run(transcript)

    content = result.content
    assert summary_validate(content) == content
    assert content["tldr"].startswith("This episode is about compost, soil")  # names its subjects
    assert all(point in texts for point in content["key_points"])
    assert len(set(content["key_points"])) == len(content["key_points"]) >= 3
    for quote in content["quotes"]:
        segment = next(s for s in transcript["segments"] if s["text"] == quote["text"])
        assert quote["start"] == segment["start"]
    assert result.dropped_quotes == []
    assert {"soil", "compost"} <= set(content["topics"])
    assert (result.provider, result.usage.requests, result.usage.cost_usd) == ("extractive", 0, 0)


def test_three_hour_episode_is_valid_and_chaptered():
    # Its speed is bench/quality.py's extractive_3h_s, not asserted here.
    transcript = long_transcript(3)
    starts = {s["start"] for s in transcript["segments"]}
    result = run(transcript)

    content = result.content
    assert summary_validate(content) == content
    assert len(content["key_points"]) == 7
    assert len(content["quotes"]) == 5
    assert all(q["start"] in starts and q["text"] in transcript["text"] for q in content["quotes"])
    chapter_starts = [c["start"] for c in content["chapters"]]
    assert chapter_starts[0] == 0 and chapter_starts == sorted(set(chapter_starts))
    assert len(chapter_starts) >= 6
    assert chapter_starts[-1] > 2 * 3600  # chapters span the whole episode, not just its start
    # Topic shifts: chapters start near where the generated episode changes subject.
    shifts = [s["start"] for s in transcript["segments"] if s["text"].startswith("Let's move on and talk about")]
    near = sum(any(abs(c - s) <= 180 for s in shifts) for c in chapter_starts[1:])
    assert near >= len(chapter_starts[1:]) // 2


def test_same_transcript_gives_the_same_summary():
    transcript = long_transcript(1, seed=3)

    assert run(transcript).content == run(transcript).content


def test_unpunctuated_speech_falls_back_to_whole_verbatim_lines_and_says_so():
    segments = [
        {**s, "text": s["text"].replace(".", "").replace(",", "").replace("?", "").replace("!", "")}
        for s in long_transcript(0.3)["segments"]
    ]

    output = summarize(segments, prompt=prompt_get("v2"))

    lines = {s["text"] for s in segments}
    assert all(point in lines and len(point.split()) <= 40 for point in output.content["key_points"])
    assert any("too few complete sentences" in w for w in output.warnings)


def test_transcript_too_short_is_refused_not_crashed():
    with pytest.raises(ProviderRejected, match="too short"):
        summarize([{"start": 0.0, "end": 2.0, "text": "Hello and welcome."}], prompt=prompt_get("v2"))


# --- On real episodes (tests/fixtures/corpus, with their labelled ad spans) ---------------

CORPUS_EPISODES = [
    "ep-daily-gist-chicago-70a82fe93a5c",
    "ep-daily-tech-news-show-c1904b8605f7",
    "ep-ai-cloud-essentials-e8dc897fbd6b",
]


def corpus_summary(name: str, *, with_context: bool = True):
    episode = fixture_episode(name)
    context = (
        EpisodeContext(title=episode.title, podcast=episode.podcast, description=episode.description) if with_context else None
    )
    return episode, transcript_summarize(
        episode.segments, provider="extractive", prompt_version="v3", ads=episode.ads, context=context
    )


@pytest.mark.parametrize("name", CORPUS_EPISODES)
def test_key_points_are_complete_sentences_on_distinct_subjects(name):
    episode, result = corpus_summary(name)

    points = result.content["key_points"]
    joined = " ".join(s["text"] for s in episode.segments)
    for point in points:
        assert point in joined  # verbatim
        assert point[0].isupper() and point[-1] in ".!" and 8 <= len(point.split()) <= 40
        assert "..." not in point and "Thank you for watching" not in point
        assert point.split()[0].lower().strip(",") not in {"and", "but", "so", "yeah", "um", "like", "okay"}
    # No two points share their main subject words.
    subjects = [set(summary_terms(p)) for p in points]
    assert all(not (a & b) or len(a & b) < 2 for i, a in enumerate(subjects) for b in subjects[i + 1 :])


@pytest.mark.parametrize("name", CORPUS_EPISODES)
def test_chapter_titles_are_short_phrases_not_keyword_lists(name):
    _, result = corpus_summary(name)

    for chapter in result.content["chapters"]:
        words = chapter["title"].split()
        assert 2 <= len(words) <= 6, chapter
        assert chapter["title"].count(",") == 0  # "Blah, content, gemini" was the old style
        assert chapter["title"][0].isupper()


@pytest.mark.parametrize("name", CORPUS_EPISODES)
def test_topics_name_subjects_not_stop_word_ish_words(name):
    _, result = corpus_summary(name)

    topics = result.content["topics"]
    assert len(topics) >= 3
    lang = language_get("en")
    for topic in topics:
        words = topic.lower().split()
        assert words[0] not in lang.stop_words and words[-1] not in lang.stop_words, topic
        assert lang.noun_like(topic.split()[-1]), topic
        assert not {"called", "biggest", "blah", "real", "times"} & set(words), topic


def test_topics_and_tldr_name_the_episode_s_subjects_and_say_the_show_notes_were_used():
    episode, result = corpus_summary("ep-daily-gist-chicago-70a82fe93a5c")
    _, bare = corpus_summary("ep-daily-gist-chicago-70a82fe93a5c", with_context=False)

    content = result.content
    named = " ".join(content["topics"]).lower()
    assert {"fitch", "spirit airlines"} <= {t for t in ("fitch", "spirit airlines", "bears") if t in named}
    assert "show notes" in content["tldr"] and "show notes" not in bare.content["tldr"]
    assert any(t.lower() in content["tldr"].lower() for t in content["topics"][:3])
    assert len(SENTENCE_BREAK.findall(content["tldr"])) <= 2
    assert "show notes and title used as context" in result.warnings


def test_quotes_start_at_their_first_word_not_at_the_segment_start():
    episode, result = corpus_summary("ep-daily-tech-news-show-c1904b8605f7")

    assert result.content["quotes"]
    words = [w for s in episode.segments for w in s.get("words", [])]
    for quote in result.content["quotes"]:
        first = quote["text"].split()[0].strip(",.!?\"'").lower()
        at = [w for w in words if abs(w["start"] - quote["start"]) < 0.01]
        assert at and at[0]["word"].strip().strip(",.!?\"'").lower() == first, quote
        assert not quote["text"].lower().startswith(("we'll take", "let's take a"))


def test_a_quote_from_the_middle_of_a_long_segment_gets_its_word_s_time():
    episode = fixture_episode("ep-daily-tech-news-show-c1904b8605f7")
    segment = next(s for s in episode.segments if len(s["words"]) > 20 and s["start"] > 200)
    quote = " ".join(w["word"].strip() for w in segment["words"][10:18])

    verified, dropped = quotes_verify([{"text": quote, "start": segment["start"]}], transcript_input(episode.segments).full)

    assert dropped == [] and verified[0]["start"] == segment["words"][10]["start"] > segment["start"]


def test_whisper_filler_is_removed_before_summarizing():
    base = short_transcript()["segments"]
    filler = [{"start": 200.0 + i * 10, "end": 205.0 + i * 10, "text": "Thank you for watching."} for i in range(20)]
    glued = [{**base[1], "text": base[1]["text"] + " Thank you for watching."}]
    segments = [base[0], *glued, *base[2:], *filler]

    given = transcript_input(segments)
    result = transcript_summarize(segments, provider="extractive", prompt_version="v3")

    text = " ".join(s["text"] for s in given.prepared)
    assert "Thank you for watching" not in text and base[1]["text"] in text
    assert "Thank you for watching" not in json.dumps(result.content)
