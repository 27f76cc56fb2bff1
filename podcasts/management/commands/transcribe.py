import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from podcasts.download import AudioRefused, audio_probe
from podcasts.transcription import TranscriptionRefused, transcribe_file


class Command(BaseCommand):
    help = "Transcribe a local audio file with the configured whisper model (no database)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="path to an audio file (MP3, M4A, FLAC, WAV, ...)")
        parser.add_argument(
            "--model", default=None, help="whisper model: tiny.en, base, or a CTranslate2 folder (default: WHISPER_MODEL)"
        )
        parser.add_argument("--language", default="", help="language of the speech, e.g. en or fr-FR (default: detected)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            audio_probe(path)
        except AudioRefused as exc:
            raise CommandError(f"{path}: {exc}") from exc
        try:
            result = transcribe_file(path, model=options["model"], language=options["language"])
        except TranscriptionRefused as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
            return
        for segment in result.segments:
            self.stdout.write(f"[{segment['start']:8.2f} → {segment['end']:8.2f}] {segment['text']}")
        self.stdout.write(
            f"{result.language}, {result.duration:.1f} s of audio in {result.wall_seconds:.1f} s with {result.model}"
        )
