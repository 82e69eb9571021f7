"""Browser tests of the workbench (issue #13): Playwright driving Debian's Chromium (``playwright install``
cannot download its own browser here), against a real server on a free loopback port with its own data
directory and a bearer token, on SQLite and on PostgreSQL.  Under CI (``CI=true``) they never skip: a
missing browser or Playwright fails."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pg_server import BACKENDS

CHROMIUM = os.environ.get("ZHAOSHENG_CHROMIUM", "/usr/bin/chromium")
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "web-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebServer:
    def __init__(self, tmp: Path, database_url: str | None = None):
        self.tmp, self.proc, self.url = tmp, None, ""
        self.database_url = database_url  # None: SQLite in the data directory

    def start(self) -> WebServer:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHAOSHENG_") or k == "ZHAOSHENG_CACHE"}
        env.update(ZHAOSHENG_DATA_DIR=str(self.tmp / "data"), ZHAOSHENG_API_TOKEN=TOKEN,
                   PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
        if self.database_url:
            env["ZHAOSHENG_DATABASE_URL"] = self.database_url
        with open(self.tmp / "server.log", "wb") as log:  # the server writes to its own copy of the file
            self.proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port),
                                          "--log-level", "warning"], cwd=ROOT, env=env, stdout=log,
                                         stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(base_url=self.url, timeout=60, headers={"Authorization": f"Bearer {TOKEN}"})
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError((self.tmp / "server.log").read_text(errors="replace"))
            try:
                if self.client.get("/health").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError("the server did not start")

    def stop(self) -> None:
        self.client.close()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="session", autouse=True)
def _chromium():
    """Without CI a machine without Chromium skips these tests; on CI they fail (never skip)."""
    if not Path(CHROMIUM).exists():
        if CI:
            pytest.fail(f"CI: no Chromium at {CHROMIUM}; .ci/run installs it with apt-get")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")


@pytest.fixture(scope="session", params=BACKENDS)
def server(request, tmp_path_factory):
    """The server, on SQLite and then on PostgreSQL (a database on the session's server, `postgres`)."""
    url = None
    if request.param == "postgresql":
        postgres = request.getfixturevalue("postgres")
        url = postgres.create_database("web")
    s = WebServer(tmp_path_factory.mktemp("web"), url).start()
    yield s
    s.stop()
    if url:
        postgres.drop_database(url)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}, "locale": "zh-CN"}


@pytest.fixture
def console_errors(page):
    """Every console error and uncaught exception of the page; a test says which failed requests it expects."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    return errors


@pytest.fixture
def signed_in(page, server):
    """The page with the token already given (as the dialog leaves it), for the flows after the first."""
    page.add_init_script(f"sessionStorage.setItem('zhaosheng.token', {TOKEN!r})")
    return page


@pytest.fixture
def shot(page, tmp_path):
    """Save a screenshot of the page under the test's temporary folder (and under $ZHAOSHENG_SCREENSHOTS)."""
    def take(name: str, full_page: bool = True) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        keep = os.environ.get("ZHAOSHENG_SCREENSHOTS")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(keep) / path.name)
        return path

    return take
