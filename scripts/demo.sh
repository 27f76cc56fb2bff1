#!/usr/bin/env bash
# Set up a virtualenv, load the bundled sample podcast into SQLite, run the
# pipeline in-process (no Redis, no API key, no network) and start the server.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt

export DJANGO_DEBUG=1 HF_HUB_OFFLINE=1
unset DATABASE_URL REDIS_URL ANTHROPIC_API_KEY
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py demo
# The demo leaves one episode queued again; run it a few seconds after the server is up,
# in small windows with frequent progress writes, so its page shows it move live.
(sleep 10; WHISPER_WINDOW_SECONDS=8 WHISPER_PROGRESS_SECONDS=1 .venv/bin/python manage.py process >/dev/null 2>&1) &
exec .venv/bin/python manage.py runserver "${PORT:-8000}"
