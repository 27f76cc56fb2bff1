"""Run the Procfile's processes with honcho, the way an operator does, and read their logs.

Used by the end-to-end test (tests/config/test_e2e_procfile.py) and bench/soak.py.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

# "16:21:25 worker.1    | {...}": honcho's prefix, then the process's own line.
HONCHO_LINE = re.compile(r"^\d\d:\d\d:\d\d (?P<process>\S+)\s*\| ?(?P<text>.*)$")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def procfile_env(
    *, database_url: str, redis_url: str, port: int, media_root: Path, static_root: Path, **extra: str
) -> dict[str, str]:
    """Production settings (DJANGO_DEBUG off) on loopback, plain http."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TEST_DATABASE_NAME", "DJANGO_DEBUG", "STATIC_MANIFEST", "PYTEST_CURRENT_TEST")
    }
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",  # honcho runs `python` and `gunicorn`
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "PORT": str(port),
            "DJANGO_SECRET_KEY": "procfile-run-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "FETCH_ALLOW_PRIVATE_NETWORKS": "1",
            "MEDIA_ROOT": str(media_root),
            "STATIC_ROOT": str(static_root),
            "SCHEDULER_INTERVAL": "2",
            "WHISPER_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def collectstatic(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)


@dataclass
class LogLine:
    process: str
    text: str


class ProcfileRun:
    """`honcho start -f Procfile` in its own session; output collected in a file."""

    def __init__(self, env: dict[str, str], log_path: Path, *, formation: str | None = None):
        self.env = env
        self.log_path = log_path
        self.formation = formation
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None

    def start(self) -> ProcfileRun:
        # honcho sets each process's PORT from -p (the first process, web, gets it as is).
        cmd = [
            str(VENV_BIN / "honcho"),
            "start",
            "--no-colour",
            "-f",
            str(ROOT / "Procfile"),
            "-d",
            str(ROOT),
            "-p",
            self.env["PORT"],
        ]
        if self.formation:
            cmd += ["-c", self.formation]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env['PORT']}"

    def wait_http(self, path: str = "/healthz", timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"honcho exited early ({self.proc.returncode}):\n{self.output()[-3000:]}")
            try:
                with urllib.request.urlopen(self.base_url() + path, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise AssertionError(f"web did not answer {path} within {timeout} s:\n{self.output()[-3000:]}")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM to honcho (it forwards SIGTERM to every process), then wait for all of them."""
        if self.proc is None or self.returncode is not None:
            return self.returncode or 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.returncode = self.proc.wait()
            raise AssertionError(f"honcho did not stop within {timeout} s") from None
        finally:
            self._log.close()
        return self.returncode

    def kill_group(self) -> None:
        """Last resort in a finally block: nothing may outlive the test.

        honcho starts each process in a session of its own, and gunicorn's workers
        outlive a killed master, so killing honcho's group alone would leave
        gunicorn, the workers and the scheduler running (taking the jobs, and
        holding the test database, of the tests that follow). The whole process
        tree is collected first, then killed."""
        if self.proc is None:
            return
        for pid in [self.proc.pid, *self._descendants()]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc.poll() is None:
            self.proc.wait()

    def _descendants(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(stat.parent.name))
        found, queue = [], [self.proc.pid]
        while queue:
            for child in children.get(queue.pop(), []):
                found.append(child)
                queue.append(child)
        return found

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def lines(self) -> list[LogLine]:
        """Every line a Procfile process wrote (honcho's own `system` lines left out)."""
        result = []
        for raw in self.output().splitlines():
            match = HONCHO_LINE.match(raw)
            if match is None:
                result.append(LogLine("?", raw))  # a line without honcho's prefix is a fault too
            elif match["process"] != "system":
                result.append(LogLine(match["process"], match["text"]))
        return result


def not_json_lines(lines: list[LogLine]) -> list[LogLine]:
    bad = []
    for line in lines:
        try:
            if not isinstance(json.loads(line.text), dict):
                bad.append(line)
        except ValueError:
            bad.append(line)
    return bad


def leaking_lines(lines: list[LogLine], secrets: list[str]) -> list[LogLine]:
    """Lines that carry an email address or any of `secrets` (API keys, passwords)."""
    return [line for line in lines if EMAIL.search(line.text) or any(secret in line.text for secret in secrets)]


# --- HTTP as a browser would, on plain http (production cookies are Secure: carried by hand) ---


def _cookies(response) -> dict[str, str]:
    # Cookies are Secure in production settings; plain-http test traffic carries them by hand.
    return {
        header.split("=", 1)[0]: header.split("=", 1)[1].split(";", 1)[0]
        for header in response.headers.get_all("Set-Cookie") or []
    }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http_login(base_url: str, username: str, password: str, timeout: float = 10) -> dict[str, str]:
    opener = urllib.request.build_opener(_NoRedirect)
    with opener.open(base_url + "/accounts/login/", timeout=timeout) as response:
        cookies = _cookies(response)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.read().decode())[1]
    body = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(
        base_url + "/accounts/login/",
        data=body,
        headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), "Referer": base_url + "/accounts/login/"},
    )
    try:
        opener.open(request, timeout=timeout)
        raise AssertionError("login did not redirect")
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302, redirect.code
        cookies.update(_cookies(redirect))
    assert "sessionid" in cookies
    return cookies


def http_get(url: str, cookies: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()
