"""Make speech clips with espeak-ng and encode them to MP3 with PyAV.

Used once to make the bundled demo episodes (`python -m podcasts.demo.synth`)
and by bench/transcribe.py for its longer clips; the app never calls it.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import av

AUDIO_DIR = Path(__file__).resolve().parent / "audio"


def wav_to_mp3(wav_path: Path, mp3_path: Path, *, bitrate: int = 24_000, sample_rate: int = 16_000) -> None:
    """Re-encode a WAV file as mono MP3 (small enough to commit)."""
    with av.open(str(wav_path)) as src, av.open(str(mp3_path), "w", format="mp3") as dst:
        out = dst.add_stream("libmp3lame", rate=sample_rate, layout="mono")
        out.bit_rate = bitrate
        resampler = av.AudioResampler(format="s16p", layout="mono", rate=sample_rate)
        for frame in src.decode(audio=0):
            for resampled in resampler.resample(frame):
                for packet in out.encode(resampled):
                    dst.mux(packet)
        for resampled in resampler.resample(None):
            for packet in out.encode(resampled):
                dst.mux(packet)
        for packet in out.encode(None):
            dst.mux(packet)


def synthesize_mp3(text: str, mp3_path: Path, *, voice: str = "en-us", speed: int = 165) -> None:
    """Speak `text` with espeak-ng into `mp3_path`."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text], check=True)
        wav_to_mp3(wav, mp3_path)


def main() -> int:
    for text_file in sorted(AUDIO_DIR.glob("episode-*.txt")):
        target = text_file.with_suffix(".mp3")
        synthesize_mp3(text_file.read_text().strip(), target)
        print(f"{target.name}: {target.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
