"""The offline extractive summarizer: valid, verbatim, deterministic, fast on hours of talk."""

import time

import pytest

from summaries.llm import ProviderRejected, transcript_summarize
from summaries.llm.extractive import summarize
from summaries.prompts import prompt_get
from summaries.schema import summary_validate
from tests.fakes.transcripts import long_transcript, short_transcript


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


def test_three_hour_episode_is_valid_chaptered_and_fast():
    transcript = long_transcript(3)
    starts = {s["start"] for s in transcript["segments"]}
    run(short_transcript())  # import scikit-learn outside the timing

    started = time.perf_counter()
    result = run(transcript)
    elapsed = time.perf_counter() - started

    assert elapsed < 10
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
