"""`manage.py summarize_transcript`: no database (these tests have no db access at all)."""

import json

import pytest
from django.core.management import CommandError, call_command

from tests.fakes.anthropic_server import text_reply
from tests.fakes.transcripts import short_transcript


@pytest.fixture
def transcript_file(tmp_path):
    path = tmp_path / "episode.json"
    path.write_text(json.dumps({"segments": short_transcript()["segments"]}))
    return path


def run_json(*args, capsys) -> dict:
    call_command("summarize_transcript", *args, "--json")
    return json.loads(capsys.readouterr().out)


def test_extractive_prints_one_json_object(transcript_file, extractive, capsys):
    output = run_json(str(transcript_file), "--provider", "extractive", capsys=capsys)

    assert set(output) == {
        "summary",
        "ads",
        "dropped_ads",
        "provider",
        "model",
        "prompt_version",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "requests",
        "warnings",
    }
    assert (output["provider"], output["prompt_version"], output["cost_usd"], output["ads"]) == ("extractive", "v3", 0, [])
    assert len(output["summary"]["key_points"]) >= 3


def test_anthropic_reports_tokens_and_cost(transcript_file, fake_anthropic, capsys):
    output = run_json(str(transcript_file), "--provider", "anthropic", "--prompt-version", "v1", capsys=capsys)

    assert (output["provider"], output["model"], output["prompt_version"]) == ("anthropic", "claude-haiku-4-5", "v1")
    assert output["input_tokens"] > 0 and output["cost_usd"] > 0
    assert output["requests"] == len(fake_anthropic.requests) == 1


def test_human_output(transcript_file, extractive, capsys):
    call_command("summarize_transcript", str(transcript_file))

    assert "TL;DR:" in capsys.readouterr().out


def test_bad_reply_is_one_clear_error(transcript_file, fake_anthropic):
    fake_anthropic.script(text_reply("Sorry, no summary today."))

    with pytest.raises(CommandError, match=r"reply was not a valid summary \(unparseable\)"):
        call_command("summarize_transcript", str(transcript_file), "--provider", "anthropic", "--json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("not json", "is not JSON"),
        ('{"text": "no segments"}', '"segments" list'),
        ('{"segments": [{"start": "soon", "text": "x"}]}', "non-numeric"),
        ('{"segments": []}', "no text"),
        ('{"segments": [{"start": 0, "text": "x"}], "ads": {"start": 1}}', '"ads" must be a list'),
        ('{"segments": [{"start": 0, "text": "x"}], "ads": [{"start": "soon", "end": 2}]}', "ad span 0 needs"),
        ('{"segments": [{"start": 0, "text": "x"}], "title": 5}', '"title" must be a string'),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path, extractive, content, message):
    path = tmp_path / "t.json"
    if content is not None:
        path.write_text(content)

    with pytest.raises(CommandError, match=message):
        call_command("summarize_transcript", str(path))


def test_input_ads_are_left_out_and_printed_next_to_the_summary(tmp_path, extractive, capsys):
    segments = short_transcript()["segments"]
    ad = segments[2]  # "The biggest mistake people make is treating compost like rubbish ..."
    path = tmp_path / "t.json"
    path.write_text(
        json.dumps({"segments": segments, "title": "Compost", "ads": [{"start": ad["start"], "end": ad["end"], "label": "X"}]})
    )

    output = run_json(str(path), "--provider", "extractive", capsys=capsys)

    assert output["ads"] == [{"start": ad["start"], "end": ad["end"], "label": "X"}]
    assert ad["text"] not in json.dumps(output["summary"])


def test_unknown_prompt_version_is_refused(transcript_file, extractive):
    with pytest.raises(CommandError, match="unknown prompt version 'v9'"):
        call_command("summarize_transcript", str(transcript_file), "--prompt-version", "v9")


def run_manage(*args):
    import subprocess
    import sys

    from django.conf import settings

    # An unreachable database: the command must not need one.
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SECRET_KEY": "x",
        "SUMMARY_PROVIDER": "extractive",
        "DATABASE_URL": "sqlite:////nonexistent/dir/db.sqlite3",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "summarize_transcript", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.BASE_DIR,
    )


def test_command_runs_without_any_database(transcript_file):
    completed = run_manage(str(transcript_file), "--json")

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["provider"] == "extractive"


def test_exit_status_is_non_zero_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[")

    completed = run_manage(str(bad))

    assert completed.returncode != 0
    assert completed.stderr.strip().count("\n") == 0
    assert "is not JSON" in completed.stderr


@pytest.mark.parametrize(
    "name, has_ads", [("ep-daily-gist-chicago-70a82fe93a5c", True), ("ep-ai-cloud-essentials-e8dc897fbd6b", False)]
)
def test_without_ads_in_the_input_the_offline_detector_finds_them(tmp_path, extractive, capsys, name, has_ads):
    from tests.support.corpus import fixture_episode

    episode = fixture_episode(name)
    path = tmp_path / "episode.json"
    path.write_text(json.dumps(episode.transcript_json()))

    ads = run_json(str(path), capsys=capsys)["ads"]

    if not has_ads:
        assert ads == []
        return
    assert ads, "the labelled sponsor reads were not found"
    for ad in ads:  # each detected span overlaps a human-labelled one
        assert any(ad["start"] < end and start < ad["end"] for start, end, _ in episode.ads)
