"""The workbench's speed (issue #13): on hengyang-2021 (or a generated city of --students N), a real server
with the workbench, one run started through the API, then in Debian's Chromium (Playwright):

* results page: from opening ``#/results/RUN`` to the region table, the chart, the school table and the first
  page of the students table drawn (the page marks ``main[data-ready]``), cold (plotly.js not yet cached) and
  warm; baseline: the plain API GETs the page makes (``/runs/RUN``, ``/regions``, ``/schools``, ``/students``);
* paging the students table: the p50 / p95 of "下一页" clicks until the new page is drawn; baseline: the p50 /
  p95 of the plain API GET of the same pages.

    python benchmarks/bench_web.py                     # hengyang-2021
    python benchmarks/bench_web.py --students 1000000  # a generated city of a million students
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-web-token"
SERVE = """
import sys
import uvicorn
from api.service import Settings
from api.service import app as service
from api.web.routes import install, is_public

if not any(getattr(r, "path", None) == "/" for r in service.create_app(Settings()).routes):
    class TokenFirst(service.TokenFirst):
        async def __call__(self, scope, receive, send):
            if self.expected and is_public(scope):
                return await self.app(scope, receive, send)
            return await super().__call__(scope, receive, send)

    service.TokenFirst = TokenFirst
    app = service.create_app(Settings())
    install(app)
else:
    app = service.create_app(Settings())
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def start_server(tmp: Path) -> tuple[subprocess.Popen, str, httpx.Client]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHAOSHENG_") or k == "ZHAOSHENG_CACHE"}
    env.update(ZHAOSHENG_DATA_DIR=str(tmp / "data"), ZHAOSHENG_API_TOKEN=TOKEN,
               PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    with open(tmp / "server.log", "wb") as log:  # the server writes to its own copy of the file
        proc = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, timeout=600, headers={"Authorization": f"Bearer {TOKEN}"})
    for _ in range(300):
        try:
            if client.get("/health").status_code == 200:
                return proc, url, client
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("the server did not start: " + (tmp / "server.log").read_text(errors="replace"))


def scenario_id(client: httpx.Client, tmp: Path, students: int | None) -> str:
    if not students:
        return "hengyang-2021"
    from models import write_scenario
    from scenarios import generate

    folder = tmp / "city"
    write_scenario(generate(students, regions=20, schools=120, seed=1), folder)
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, str(path.relative_to(folder)))
    r = client.post("/scenarios", files={"file": ("city.zip", buf.getvalue(), "application/zip")})
    r.raise_for_status()
    return r.json()["id"]


def run_to_done(client: httpx.Client, scenario: str) -> tuple[str, float]:
    t0 = time.perf_counter()
    run = client.post(f"/scenarios/{scenario}/runs", json={"engine": "sequential"}).json()
    while True:
        body = client.get(f"/runs/{run['id']}").json()
        if body["status"] in ("done", "failed"):
            break
        time.sleep(0.5)
    if body["status"] != "done":
        raise SystemExit(f"the run failed: {body.get('reason')}")
    return run["id"], time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=0, help="a generated city of N students instead of hengyang-2021")
    ap.add_argument("--pages", type=int, default=40, help="next-page clicks timed")
    ap.add_argument("--chromium", default=os.environ.get("ZHAOSHENG_CHROMIUM", "/usr/bin/chromium"))
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        proc, url, client = start_server(tmp)
        try:
            scenario = scenario_id(client, tmp, args.students)
            run, run_seconds = run_to_done(client, scenario)
            total = client.get(f"/runs/{run}/students", params={"limit": 1}).json()["total"]
            print(f"scenario {scenario}: {total:,} students; sequential run through the API in {run_seconds:.1f} s")

            def api_page() -> float:
                t0 = time.perf_counter()
                client.get(f"/runs/{run}")
                client.get(f"/runs/{run}/regions", params={"limit": 1000})
                client.get(f"/runs/{run}/schools", params={"limit": 20})
                client.get(f"/runs/{run}/students", params={"limit": 20})
                return time.perf_counter() - t0

            api_page()
            api_base = statistics.median(api_page() for _ in range(5))

            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=args.chromium,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                context.add_init_script(f"sessionStorage.setItem('zhaosheng.token', {TOKEN!r})")
                page = context.new_page()
                loads = []
                for i in range(4):
                    page.goto("about:blank")
                    t0 = time.perf_counter()
                    page.goto(f"{url}/#/results/{run}")
                    page.wait_for_selector("main[data-ready]", timeout=300_000)
                    loads.append(time.perf_counter() - t0)
                    if i == 0:
                        page.screenshot(path=str(tmp / "results.png"))
                cold, warm = loads[0], statistics.median(loads[1:])
                print(f"results page, open to tables and chart drawn: cold {cold * 1000:.0f} ms, "
                      f"warm {warm * 1000:.0f} ms (median of 3); "
                      f"plain API GETs of the same data {api_base * 1000:.0f} ms; "
                      f"ratio warm / API {warm / api_base:.1f}x")

                students = page.locator("#students-table")
                clicks = []
                for _ in range(args.pages):
                    info = students.locator(".page-info")
                    before = info.inner_text()
                    t0 = time.perf_counter()
                    students.get_by_role("button", name="下一页").click()
                    page.wait_for_function("([el, t]) => el.isConnected === false || el.innerText !== t",
                                           arg=[info.element_handle(), before], timeout=60_000)
                    page.wait_for_selector("#students-table[aria-busy=false]")
                    clicks.append(time.perf_counter() - t0)
                browser.close()

            offsets = [20 * (i + 1) for i in range(args.pages)]
            direct = []
            for off in offsets:
                t0 = time.perf_counter()
                client.get(f"/runs/{run}/students", params={"offset": off, "limit": 20}).raise_for_status()
                direct.append(time.perf_counter() - t0)
            deep = []
            for off in [total - 20 - 997 * i for i in range(args.pages)]:
                t0 = time.perf_counter()
                client.get(f"/runs/{run}/students", params={"offset": max(off, 0), "limit": 20}).raise_for_status()
                deep.append(time.perf_counter() - t0)
            print(f"students table, next page ({args.pages} clicks): p50 {p(clicks, .5) * 1000:.0f} ms, "
                  f"p95 {p(clicks, .95) * 1000:.0f} ms; plain API GET of the same pages "
                  f"p50 {p(direct, .5) * 1000:.1f} ms, "
                  f"p95 {p(direct, .95) * 1000:.1f} ms; ratio p95 {p(clicks, .95) / p(direct, .95):.1f}x")
            print(f"plain API GET of pages near the end (offset up to {total:,}): p50 {p(deep, .5) * 1000:.1f} ms, "
                  f"p95 {p(deep, .95) * 1000:.1f} ms")
        finally:
            client.close()
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
