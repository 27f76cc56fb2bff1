import json
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from podcasts.sponsors import detect_ad_spans
from summaries.llm import PROVIDERS, MalformedReply, ProviderError, provider_default, segments_clean, transcript_summarize
from summaries.llm.prepare import EpisodeContext
from summaries.prompts import prompt_versions


def _ad_spans_for(segments: list, data: dict) -> list:
    """The ad spans the summary must avoid: the input's own "ads" list ([{start, end, label?}])
    when it has one (e.g. corrected by hand), else what the offline sponsor detector finds,
    as the pipeline does after storing a transcript."""
    if "ads" not in data:
        detected = detect_ad_spans(
            segments_clean(segments), title=_text_field(data, "title"), description=_text_field(data, "description")
        )
        return [{"start": span.start, "end": span.end, "label": span.label} for span in detected]
    ads = data.get("ads") or []
    if not isinstance(ads, list):
        raise ValueError('"ads" must be a list of {start, end, label}')
    return ads


def _text_field(data: dict, key: str) -> str:
    value = data.get(key) or ""
    if not isinstance(value, str):
        raise ValueError(f'"{key}" must be a string')
    return value


class Command(BaseCommand):
    help = (
        'Summarize a transcript JSON file ({"segments": [{start, end, text, words?}], "title"?, "podcast"?, '
        '"description"?, "ads"?}) without touching the database.'
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Transcript JSON, e.g. the output of `manage.py transcribe --json`.")
        parser.add_argument("--provider", choices=PROVIDERS, default=None, help="Default: SUMMARY_PROVIDER.")
        parser.add_argument("--prompt-version", default=None, help="Default: SUMMARY_PROMPT_VERSION.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options):
        provider = options["provider"] or provider_default()
        prompt_version = options["prompt_version"] or settings.SUMMARY_PROMPT_VERSION
        if prompt_version not in prompt_versions():
            raise CommandError(f"unknown prompt version {prompt_version!r} (known: {', '.join(prompt_versions())})")
        if provider == "anthropic" and not settings.ANTHROPIC_API_KEY:
            raise CommandError("--provider anthropic needs ANTHROPIC_API_KEY")
        path = Path(options["file"])
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(f"{path} is not JSON: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("segments"), list):
            raise CommandError(f'{path} must be a JSON object with a "segments" list')
        try:
            context = EpisodeContext(
                title=_text_field(data, "title"),
                podcast=_text_field(data, "podcast"),
                description=_text_field(data, "description"),
                hosts=_text_field(data, "hosts"),
                language=_text_field(data, "language") or "en",
            )
            result = transcript_summarize(
                data["segments"],
                provider=provider,
                prompt_version=prompt_version,
                ads=_ad_spans_for(data["segments"], data),
                context=context,
            )
        except MalformedReply as exc:
            raise CommandError(f"the {provider} reply was not a valid summary ({exc.reason}): {exc.detail[:300]}") from None
        except ProviderError as exc:
            raise CommandError(f"{provider} failed: {exc}") from None
        except ValueError as exc:
            raise CommandError(f"{path}: {exc}") from None

        output = {
            "summary": result.content,
            "ads": result.ads,
            "dropped_ads": result.dropped_ads,
            "provider": result.provider,
            "model": result.model,
            "prompt_version": result.prompt_version,
            "input_tokens": result.usage.input_tokens,
            "output_tokens": result.usage.output_tokens,
            "cost_usd": float(result.usage.cost_usd or Decimal("0")),
            "requests": result.usage.requests,
            "warnings": result.warnings,
        }
        if options["json"]:
            self.stdout.write(json.dumps(output, ensure_ascii=False))
            return
        content = result.content
        self.stdout.write(f"{result.provider} / {result.model} / prompt {result.prompt_version}")
        self.stdout.write(f"\nTL;DR: {content['tldr']}\n\nKey points:")
        for point in content["key_points"]:
            self.stdout.write(f"  - {point}")
        if content["quotes"]:
            self.stdout.write("\nQuotes:")
            for quote in content["quotes"]:
                self.stdout.write(f'  [{quote["start"]:.0f}s] "{quote["text"]}"')
        self.stdout.write("\nChapters:")
        for chapter in content["chapters"]:
            self.stdout.write(f"  [{chapter['start']:.0f}s] {chapter['title']}")
        self.stdout.write("\nTopics: " + ", ".join(content["topics"]))
        if result.ads:
            self.stdout.write("\nAds left out:")
            for ad in result.ads:
                self.stdout.write(f"  [{ad['start']:.0f}s-{ad['end']:.0f}s] {ad['label']}")
        self.stdout.write(
            f"\n{output['input_tokens']} input + {output['output_tokens']} output tokens, "
            f"${output['cost_usd']:.6f}, {output['requests']} request(s)"
        )
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
