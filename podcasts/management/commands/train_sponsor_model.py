import hashlib
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from podcasts.sponsors.corpus import load_corpus
from podcasts.sponsors.model import ARTIFACT_PATH
from podcasts.sponsors.training import train

DEFAULT_CORPUS = Path(settings.BASE_DIR).parent / "shared" / "corpus" / "transcripts"


class Command(BaseCommand):
    help = "Refit the offline sponsor detector on a labelled corpus and write its artifact (reproducible)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--corpus", default=str(DEFAULT_CORPUS), help="folder of ep-*/ episodes (default: ../shared/corpus/transcripts)"
        )
        parser.add_argument(
            "--output", default=str(ARTIFACT_PATH), help="where to write the model JSON (default: the committed artifact)"
        )

    def handle(self, *args, **options):
        corpus = Path(options["corpus"])
        if not corpus.is_dir():
            raise CommandError(f"No such corpus folder: {corpus}")
        episodes = load_corpus(corpus)
        if not episodes:
            raise CommandError(f"No labelled episodes (ep-*/segments.json + truth.txt) in {corpus}")
        output = Path(options["output"])
        if not output.parent.is_dir():
            raise CommandError(f"No such folder for --output: {output.parent}")
        model = train(episodes, output)
        digest = hashlib.sha256(output.read_bytes()).hexdigest()[:16]
        self.stdout.write(
            f"Trained on {len(model.trained_on)} episodes, {len(model.vocabulary)} terms; "
            f"wrote {output} ({output.stat().st_size // 1024} KB, sha256 {digest})"
        )
