"""Prompt v3 through the real anthropic SDK against the fake Messages API: what the model is
given (episode context, rules, h:mm:ss lines, strict tool schema), how its times and ad spans
are checked, and that v1/v2 summaries keep working and show as outdated."""

import json

from curation.models import CurationItem
from podcasts.models import Episode, Podcast
from summaries.generation import summary_generate
from summaries.llm import transcript_input, transcript_summarize
from summaries.llm.prepare import EpisodeContext
from summaries.models import Summary
from summaries.selectors import summary_is_outdated
from summaries.services import episode_summarize
from tests.factories import make_transcribed_episode, make_transcript
from tests.fakes.anthropic_server import summary_responder, tool_reply, user_text
from tests.fakes.transcripts import long_transcript
from tests.support.corpus import fixture_episode

GIST = "ep-daily-gist-chicago-70a82fe93a5c"


def _context(episode) -> EpisodeContext:
    return EpisodeContext(title=episode.title, podcast="Crain's Daily Gist", description=episode.description, hosts="Amy Guth")


def _reply(**overrides) -> dict:
    summary = {
        "tldr": "Suburban apartment deals lead a day of Chicago business news.",
        "key_points": [
            "An O'Hare-area complex sold for $167 million.",
            "Governor Pritzker called the Bears pitch a non-starter.",
            "Spirit Airlines' shutdown costs Chicago jobs.",
        ],
        "quotes": [],
        "chapters": [
            {"title": "Suburban apartment deals", "start": "0:00:00"},
            {"title": "The day's headlines", "start": "0:09:03"},
        ],
        "topics": ["apartments", "Bears", "Spirit Airlines"],
        "ads": [],
    }
    return {**summary, **overrides}


def test_v3_gives_the_model_titles_plain_show_notes_hosts_and_the_rules(fake_anthropic):
    episode = fixture_episode(GIST)

    transcript_summarize(episode.segments, provider="anthropic", prompt_version="v3", ads=episode.ads, context=_context(episode))

    body = fake_anthropic.requests[0]
    system, user = body["system"][0]["text"], user_text(body)
    assert "Podcast: Crain's Daily Gist" in user
    assert "Episode title: Suburban apartment market heats up" in user
    assert "Hosts: Amy Guth" in user
    assert "Rachel Herzog talks with host Amy Guth about major suburban apartment trades" in user  # the show notes
    assert "<p>" not in user and "&amp;" not in user
    assert "Skip sponsor reads" in system and "housekeeping" in system
    assert "misheard" in system and "hallucinated filler" in system and "no speaker labels" in system
    assert "one per 5 to 15 minutes" in system
    assert "[0:00:00] " in user and "[0:01:" in user  # h:mm:ss lines, even under an hour
    assert "The first chapter starts at 0:00:00." in user


def test_v3_tool_schema_is_strict_and_carries_the_validator_limits_and_ads(fake_anthropic):
    episode = fixture_episode(GIST)

    transcript_summarize(episode.segments, provider="anthropic", prompt_version="v3", context=_context(episode))

    schema = fake_anthropic.requests[0]["tools"][0]["input_schema"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["chapters"]["items"]["additionalProperties"] is False
    assert schema["properties"]["tldr"]["maxLength"] == 800
    assert schema["properties"]["key_points"]["items"]["maxLength"] == 400
    assert schema["properties"]["topics"]["items"]["maxLength"] == 60
    assert schema["properties"]["chapters"]["items"]["properties"]["start"]["pattern"]
    assert set(schema["properties"]["ads"]["items"]["required"]) == {"start", "end", "label"}
    assert "ads" in schema["required"]


def test_show_notes_are_capped_in_the_prompt(fake_anthropic):
    episode = fixture_episode(GIST)
    context = EpisodeContext(title="T", podcast="P", description="<p>" + "word " * 5000 + "</p>")

    transcript_summarize(episode.segments, provider="anthropic", prompt_version="v3", context=context)

    notes = (
        user_text(fake_anthropic.requests[0])
        .split("Show notes (from the feed; they may list sponsors):\n")[1]
        .split("</episode>")[0]
    )
    assert 1500 < len(notes) <= 2100


def test_later_chunks_are_not_told_the_first_chapter_starts_at_zero(fake_anthropic, settings):
    settings.SUMMARY_MAX_INPUT_TOKENS = 6000
    segments = long_transcript(1)["segments"]

    transcript_summarize(segments, provider="anthropic", prompt_version="v3", context=EpisodeContext(title="Gardens"))

    chunks = [user_text(b) for b in fake_anthropic.requests if "part_summaries" not in user_text(b)]
    assert len(chunks) >= 2
    assert "Its first chapter starts at 0:00:00." in chunks[0]
    assert all("0:00:00" not in c.split("<transcript>")[0].replace("(not at 0:00:00)", "") for c in chunks[1:])
    assert all("continuing from the previous part" in c for c in chunks[1:])


def test_temperature_is_sent_only_when_the_setting_names_one(fake_anthropic, settings):
    segments = long_transcript(0.2)["segments"]

    transcript_summarize(segments, provider="anthropic", prompt_version="v3")
    settings.SUMMARY_TEMPERATURE = 0.2
    transcript_summarize(segments, provider="anthropic", prompt_version="v3")
    transcript_summarize(segments, provider="anthropic", prompt_version="v2")

    assert "temperature" not in fake_anthropic.requests[0]
    assert fake_anthropic.requests[1]["temperature"] == 0.2
    assert "temperature" not in fake_anthropic.requests[2]  # v1/v2 requests are unchanged


def test_clock_starts_are_converted_and_checked_against_the_transcript_and_duration(fake_anthropic):
    episode = fixture_episode(GIST)
    fake_anthropic.script(
        tool_reply(
            _reply(
                chapters=[
                    {"title": "Suburban apartment deals", "start": "0:00:00"},
                    {"title": "The day's headlines", "start": "0:09:04"},
                    {"title": "Past the end", "start": "1:30:00"},
                ],
            )
        )
    )

    result = transcript_summarize(episode.segments, provider="anthropic", prompt_version="v3", ads=episode.ads)

    chapters = result.content["chapters"]
    assert [c["title"] for c in chapters] == ["Suburban apartment deals", "The day's headlines"]
    starts = {s["start"] for s in transcript_input(episode.segments, ads=episode.ads).prepared}
    assert chapters[1]["start"] in starts and 542.17 <= chapters[1]["start"] < 550  # the next line start after 9:04
    assert chapters[0]["start"] == 0.0  # the first ad starts at 0:54, not at 0
    assert any("past the end" in w for w in result.warnings)


def test_claude_ad_spans_are_checked_and_the_unmatched_ones_dropped_and_flagged(fake_anthropic, db):
    corpus = fixture_episode(GIST)
    episode = make_transcribed_episode(
        transcript={"segments": corpus.segments, "text": " ".join(s["text"] for s in corpus.segments)}, title=corpus.title
    )
    fake_anthropic.script(
        tool_reply(
            _reply(
                ads=[
                    {"start": "0:00:54", "end": "0:01:05", "label": "Old National Bank"},  # matches the transcript
                    {"start": "0:05:00", "end": "0:06:00", "label": "Squarespace"},  # never said there
                    {"start": "1:10:00", "end": "1:11:00", "label": "Old National Bank"},  # after the episode
                    {"start": "soon", "end": "later", "label": "x"},
                ]
            )
        )
    )

    summary = summary_generate(episode=episode, prompt_version="v3")

    item = CurationItem.objects.get(flag_class=CurationItem.FlagClass.UNVERIFIED_AD_SPAN)
    reasons = sorted(d["reason"] for d in item.evidence["dropped_ad_spans"])
    assert reasons == ["ends after the episode", "its label is not said in the span", "start or end is not a time"]
    assert item.object_id == str(summary.pk)
    assert "Squarespace" not in json.dumps(summary.content)


def test_claude_ad_spans_reach_the_command_output_and_summary_avoids_them(fake_anthropic, tmp_path, capsys):
    from django.core.management import call_command

    corpus = fixture_episode(GIST)
    path = tmp_path / "t.json"
    path.write_text(json.dumps({**corpus.transcript_json(), "ads": [{"start": 521.47, "end": 542.17, "label": "Crain's quiz"}]}))
    fake_anthropic.script(
        tool_reply(
            _reply(
                ads=[{"start": "0:00:54", "end": "0:01:05", "label": "Old National Bank"}],
                quotes=[{"text": "Because when you succeed, they succeed.", "start": "0:00:54"}],
            )
        )
    )

    call_command("summarize_transcript", str(path), "--provider", "anthropic", "--json")

    output = json.loads(capsys.readouterr().out)
    assert [(a["start"], a["end"]) for a in output["ads"]] == [(54.0, 65.0), (521.47, 542.17)]
    assert output["summary"]["quotes"] == []  # the quote sat inside the model's own ad span


def test_the_pipeline_passes_the_episode_context_to_the_provider(fake_anthropic, db):
    podcast = Podcast.objects.create(feed_url="https://example.com/gist.xml", title="Crain's Daily Gist", author="Amy Guth")
    corpus = fixture_episode(GIST)
    episode = Episode.objects.create(
        podcast=podcast,
        guid="gist-1",
        title=corpus.title,
        description="<p>Crain’s reporter Rachel Herzog talks with host Amy Guth.</p>",
        pipeline_status=Episode.PipelineStatus.TRANSCRIBED,
    )
    make_transcript(episode, segments=corpus.segments[:80], text="x")

    episode_summarize(episode_id=episode.pk)

    user = user_text(fake_anthropic.requests[0])
    assert "Podcast: Crain's Daily Gist" in user and "Hosts: Amy Guth" in user
    assert "Episode title: Suburban apartment market heats up" in user
    assert "Crain’s reporter Rachel Herzog talks with host Amy Guth." in user


def test_v1_and_v2_summaries_still_work_and_show_as_outdated(fake_anthropic, episode):
    fake_anthropic.default = summary_responder

    v1 = summary_generate(episode=episode, prompt_version="v1")
    v2 = summary_generate(episode=episode, prompt_version="v2")
    v3 = summary_generate(episode=episode, prompt_version="v3")

    assert [s.prompt_version for s in Summary.objects.order_by("pk")] == ["v1", "v2", "v3"]
    assert summary_is_outdated(summary=v1) and summary_is_outdated(summary=v2) and not summary_is_outdated(summary=v3)
    assert "<episode>" not in user_text(fake_anthropic.requests[1])  # v2's request is what it always was
