"""Summaries never come from ads: real corpus episodes, their human-labelled ad spans, every provider."""

import pytest

from summaries.llm import NoBudget, extractive, segments_clean, transcript_input, transcript_summarize
from summaries.llm.prepare import EpisodeContext, transcript_prepare
from summaries.prompts import prompt_get
from tests.fakes.anthropic_server import tool_reply
from tests.support.corpus import fixture_episode, summary_leaks

GIST = "ep-daily-gist-chicago-70a82fe93a5c"
DTNS = "ep-daily-tech-news-show-c1904b8605f7"
NO_ADS = "ep-ai-cloud-essentials-e8dc897fbd6b"


def _context(episode) -> EpisodeContext:
    return EpisodeContext(title=episode.title, podcast=episode.podcast, description=episode.description)


def _ad_sentences(episode) -> list[str]:
    """Distinctive sentences of the labelled ad copy (truth.txt's text)."""
    return (
        ["Old National Bank, where relationships and results meet.", "Visit chicagobusiness.com slash quiz."]
        if episode.name == GIST
        else [
            "This episode is brought to you by Capital One.",
            "That's why Warby Parker is a one-stop shop for all your vision needs.",
        ]
    )


@pytest.mark.parametrize("name", [GIST, DTNS])
def test_extractive_summary_has_nothing_from_a_labelled_ad_span(name):
    episode = fixture_episode(name)

    with_spans = transcript_summarize(
        episode.segments, provider="extractive", prompt_version="v3", ads=episode.ads, context=_context(episode)
    )

    assert summary_leaks(with_spans.content, episode.segments, episode.ads) == []
    assert [(ad["start"], ad["end"]) for ad in with_spans.ads] == [(round(a, 2), round(b, 2)) for a, b, _ in episode.ads]
    if name == DTNS:  # the same summarizer on the whole transcript does pick up the sponsor reads: the check bites
        unguarded = extractive.summarize(
            transcript_prepare(segments_clean(episode.segments)),
            prompt=prompt_get("v3"),
            budget=NoBudget(),
            context=_context(episode),
        )
        assert summary_leaks(unguarded.content, episode.segments, episode.ads) != []


def test_ad_copy_the_spans_missed_stays_out_of_the_summary():
    # No spans at all, as when the detector misses every read: the lead-ins ("brought to you
    # by") and closing addresses still keep the reads around them out.
    episode = fixture_episode(DTNS)

    result = transcript_summarize(episode.segments, provider="extractive", prompt_version="v3", context=_context(episode))

    assert result.ads == []
    # Sentences and topics: where a chapter starts is the spans' work (this episode's
    # sign-off block has no copy to find).
    leaks = summary_leaks(result.content, episode.segments, episode.ads)
    assert [leak for leak in leaks if not leak.startswith("chapter:")] == []
    unguarded = extractive.summarize(
        transcript_prepare(segments_clean(episode.segments)),
        prompt=prompt_get("v3"),
        budget=NoBudget(),
        context=_context(episode),
    )
    assert [leak for leak in summary_leaks(unguarded.content, episode.segments, episode.ads) if not leak.startswith("chapter:")]


def test_a_span_whose_edges_fall_short_of_the_ad_still_keeps_the_whole_ad_out():
    # The detector's edges fall up to half a minute short of a labelled ad's (docs/sponsors.md).
    episode = fixture_episode(DTNS)
    short = [(start + 20.0, end - 20.0, label, True) for start, end, label in episode.ads if end - start > 60]

    given = transcript_input(episode.segments, ads=short)

    kept = [w for s in given.prepared for w in s.get("words", [])]
    assert not any(a <= (w["start"] + w["end"]) / 2 < b for w in kept for a, b, _ in episode.ads if b - a > 60)
    assert [(s.start, s.end) for s in given.ads] == [(a, b) for a, b, *_ in short]


def test_no_chapter_starts_inside_an_ad_even_when_the_episode_opens_with_one():
    episode = fixture_episode(DTNS)  # ads from 0:00 to 2:32

    result = transcript_summarize(episode.segments, provider="extractive", prompt_version="v3", ads=episode.ads)

    starts = [c["start"] for c in result.content["chapters"]]
    assert not any(a <= s < b for s in starts for a, b, _ in episode.ads)
    assert starts[0] >= episode.ads[1][1]


def test_the_prepared_transcript_keeps_speech_and_drops_only_words_inside_the_spans():
    episode = fixture_episode(GIST)

    given = transcript_input(episode.segments, ads=episode.ads)

    words = [w for s in given.prepared for w in s.get("words", [])]
    assert not any(a <= (w["start"] + w["end"]) / 2 < b for w in words for a, b, _ in episode.ads)
    text = " ".join(s["text"] for s in given.prepared)
    assert "Old National Bank" not in text and "chicagobusiness.com slash quiz" not in text
    assert "Spirit Airlines" in text and "Fitch" in text


def test_claude_never_sees_the_ad_copy_and_its_summary_has_nothing_from_the_spans(fake_anthropic):
    episode = fixture_episode(DTNS)

    result = transcript_summarize(
        episode.segments, provider="anthropic", prompt_version="v3", ads=episode.ads, context=_context(episode)
    )

    sent = fake_anthropic.sent_text
    assert all(sentence not in sent for sentence in _ad_sentences(episode))
    assert "Switch 2" in sent  # the episode itself does reach the model
    # The fake's tldr and topics are canned; its quotes, points and chapters come from what it was sent.
    from_transcript = {**result.content, "tldr": "", "topics": []}
    assert summary_leaks(from_transcript, episode.segments, episode.ads) == []


def test_a_claude_quote_or_chapter_from_an_ad_span_is_dropped_or_moved(fake_anthropic):
    episode = fixture_episode(GIST)
    mid_ad = episode.ads[1]  # 8:41-9:02, the Crain's quiz promotion
    fake_anthropic.script(
        tool_reply(
            {
                "tldr": "Suburban apartment deals and Chicago business news.",
                "key_points": ["Apartment deals are up.", "The Bears pitch is a non-starter.", "Spirit Airlines shut down."],
                "quotes": [
                    {"text": "Did you keep up with the week's news?", "start": "0:08:45"},
                    {"text": "Governor Pritzker says Mayor Johnson's Bears pitch is a non-starter.", "start": "0:00:30"},
                ],
                "chapters": [
                    {"title": "Suburban apartment deals", "start": "0:00:00"},
                    {"title": "Business news roundup", "start": "0:08:50"},
                ],
                "topics": ["apartments", "Bears"],
                "ads": [],
            }
        )
    )

    result = transcript_summarize(
        episode.segments, provider="anthropic", prompt_version="v3", ads=episode.ads, context=_context(episode)
    )

    assert [q["text"] for q in result.content["quotes"]] == [
        "Governor Pritzker says Mayor Johnson's Bears pitch is a non-starter."
    ]
    assert result.dropped_quotes[0]["text"] == "Did you keep up with the week's news?"
    assert result.content["chapters"][1]["start"] >= mid_ad[1]


def test_the_no_ad_episode_is_summarized_whole():
    episode = fixture_episode(NO_ADS)

    given = transcript_input(episode.segments, ads=episode.ads)
    result = transcript_summarize(episode.segments, provider="extractive", prompt_version="v3", context=_context(episode))

    assert episode.ads == [] and result.ads == []
    assert len(given.prepared) >= len(given.full) - 3  # only filler lines, if any, are left out
