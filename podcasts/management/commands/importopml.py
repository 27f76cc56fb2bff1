import json

from django.core.management.base import BaseCommand, CommandError

from podcasts.services import OpmlError, opml_import


class Command(BaseCommand):
    help = "Add every feed listed in an OPML file; new feeds are fetched by `feeds` jobs."

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of an OPML file")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        try:
            with open(options["file"], "rb") as handle:
                data = handle.read(10 * 1024 * 1024 + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc.strerror or exc}.") from None
        if len(data) > 10 * 1024 * 1024:
            raise CommandError("The OPML file is larger than 10 MB.")
        try:
            report = opml_import(data=data)
        except OpmlError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps({"added": len(report.added), "existing": report.existing, "invalid": report.invalid}))
        else:
            self.stdout.write(
                f"{len(report.added)} feeds added, {report.existing} already present, {len(report.invalid)} invalid."
            )
