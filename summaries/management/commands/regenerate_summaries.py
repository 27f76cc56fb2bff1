"""Bulk regeneration: a dry run unless --execute (DESIGN.md "Regeneration")."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from podcasts.models import Episode, Podcast
from summaries.batches import BatchUnavailable, batch_check, regeneration_batch_estimate, regeneration_batch_submit
from summaries.regeneration import regeneration_execute, regeneration_plan


class Command(BaseCommand):
    help = (
        "Count (dry run, the default) or create (--execute) regenerations of outdated summaries, "
        "grouped by podcast and by current prompt version."
    )

    def add_arguments(self, parser):
        parser.add_argument("--podcast", type=int, metavar="ID", help="only this podcast")
        parser.add_argument("--episode", type=int, metavar="ID", help="only this episode")
        parser.add_argument("--prompt-version", metavar="V", help="target version (default: SUMMARY_PROMPT_VERSION)")
        parser.add_argument("--execute", action="store_true", help="create the deliveries (otherwise nothing is written)")
        parser.add_argument(
            "--batch",
            action="store_true",
            help="send them as one Anthropic Message Batch (half price; results stored by the scheduler's poll)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        podcast_id, episode_id = options["podcast"], options["episode"]
        if podcast_id is not None and not Podcast.objects.filter(pk=podcast_id).exists():
            raise CommandError(f"No podcast with id {podcast_id}.")
        if episode_id is not None and not Episode.objects.filter(pk=episode_id).exists():
            raise CommandError(f"No episode with id {episode_id}.")
        version = options["prompt_version"]
        if version is not None and not version.strip():
            raise CommandError("--prompt-version must not be empty.")
        kwargs = {"podcast_id": podcast_id, "episode_id": episode_id, "prompt_version": version}
        if options["batch"]:
            result = self._batch(kwargs, execute=options["execute"])
        elif options["execute"]:
            result = regeneration_execute(**kwargs)
            result.pop("delivery_ids")
            result["dry_run"] = False
        else:
            result = {**regeneration_plan(**kwargs), "dry_run": True}
        if options["json"]:
            self.stdout.write(json.dumps(result, sort_keys=True))
            return
        self._print(result)

    def _batch(self, kwargs: dict, *, execute: bool) -> dict:
        try:
            batch_check(prompt_version=kwargs["prompt_version"] or settings.SUMMARY_PROMPT_VERSION)
            if execute:
                return {**regeneration_batch_submit(**kwargs), "dry_run": False}
            return {**regeneration_batch_estimate(**kwargs), "dry_run": True}
        except BatchUnavailable as exc:
            raise CommandError(str(exc)) from None

    def _print(self, result: dict) -> None:
        target = result["target_prompt_version"]
        if result["dry_run"]:
            self.stdout.write(f"Dry run: {result['total']} regeneration(s) to {target} would be created (use --execute).")
            if result.get("batch"):
                self.stdout.write(
                    f"Estimated cost at batch price: ${result['estimated_cost_usd']} "
                    f"(list price ${result['estimated_cost_usd_list_price']}; output counted at its maximum)."
                )
                if not result["fits_daily_budget"]:
                    self.stdout.write(
                        f"Over what is left of today's LLM_DAILY_TOKEN_BUDGET ({result['daily_budget_remaining_tokens']} tokens): "
                        "--execute --batch would refuse."
                    )
        else:
            self.stdout.write(f"Created {result['created']} regeneration(s) to {target}.")
            if result.get("batch"):
                if result["batched"]:
                    self.stdout.write(
                        f"Submitted {result['batched']} in Message Batch(es) {', '.join(result['batch_ids'])}; "
                        "the scheduler stores the results."
                    )
                if result["queued"]:
                    self.stdout.write(
                        f"{result['queued']} transcript(s) too long for one request: queued for the normal worker at list price."
                    )
        if result["by_podcast"]:
            self.stdout.write("By podcast:")
            for row in result["by_podcast"]:
                self.stdout.write(f"  {row['podcast_id']:>6}  {row['count']:>7}  {row['title']}")
        if result["by_prompt_version"]:
            self.stdout.write("By current prompt version:")
            for row in result["by_prompt_version"]:
                self.stdout.write(f"  {row['prompt_version']:>8}  {row['count']:>7}")
