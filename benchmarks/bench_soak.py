"""Soak test: the service under a mixed load, hostile input and one kill -9, then a consistency check (#12).

    python benchmarks/bench_soak.py                          # 150 s, at most 4,000 requests, 6 clients
    python benchmarks/bench_soak.py --seconds 60 --max-requests 1500 --clients 4 --junk-rows 200000

Starts ``zhaosheng serve`` on a free loopback port (127.0.0.1 only) with a temporary data directory, a
bearer token, two worker slots and a short queue (``MAX_QUEUED_JOBS``), and:

1. uploads a CSV of junk (by default about 50 MB in a 25 MB zip, as the issue's) and measures the server's
   resident memory before, at its peak while the upload is validated, and after;
2. runs ``--clients`` threads that start requests for at most ``--seconds`` (those in flight then, an audit
   waiting for its slot say, finish) and at most ``--max-requests`` requests in all, each picking
   at random: uploads (valid, invalid, hostile zips), runs, what-ifs, sweeps, bounds, audits of finished
   runs (some tampered), cancels, deletes of jobs and scenarios (refused while a job of theirs is active),
   reads and downloads, and requests without the token;
3. once, about a third of the way in, kills the server with SIGKILL while a run is storing its tables
   (or, if it cannot catch that phase, while jobs run) and starts it again on the same database;
4. at the end lets the queue drain (cancelling what is left after ``--drain`` seconds), stops the server,
   and checks the database against the data directory: every row has its files and every file its row,
   a run's rows equal its files, no job queued or running, no staging folder or upload left, no job on a
   scenario that is gone, no worker process left behind, and no 5xx answer.

It prints the requests (by status), the jobs, the faults injected, the memory figures and the
inconsistencies found; it exits 1 if there is any inconsistency or 5xx.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HOST = "127.0.0.1"  # loopback only
TOKEN = "soak-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BUNDLED = ("jiaozuo-2022", "hengyang-2021")
KINDS = ("whatif", "sweep", "bound")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class Server:
    def __init__(self, data_dir: Path, port: int, queue: int):
        self.data_dir, self.port, self.queue = data_dir, port, queue
        self.url = f"http://{HOST}:{port}"
        self.proc: subprocess.Popen | None = None
        self.log = data_dir.parent / "server.log"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHAOSHENG_") or k == "ZHAOSHENG_CACHE"}
        env.update(ZHAOSHENG_DATA_DIR=str(self.data_dir), ZHAOSHENG_API_TOKEN=TOKEN,
                   ZHAOSHENG_MAX_CONCURRENT_RUNS="2", ZHAOSHENG_MAX_QUEUED_JOBS=str(self.queue),
                   ZHAOSHENG_AUDIT_TIME_LIMIT="120", PYTHONPATH=str(ROOT))
        with open(self.log, "ab") as log:  # the server writes to its own copy of the file
            self.proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--host", HOST, "--port",
                                         str(self.port), "--log-level", "warning"], cwd=ROOT, env=env,
                                        stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"the server exited: {self.log.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", headers=AUTH, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        sys.exit("the server did not come up in 60 s")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# inputs ---------------------------------------------------------------------------------------------------

def zip_folder(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, str(path.relative_to(folder)))
    return buf.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def make_inputs(tmp: Path, junk_rows: int) -> dict:
    from models import write_scenario
    from scenarios import generate

    inputs = {"valid": [], "hostile": []}
    for students, seed in ((300, 1), (1500, 2), (4000, 3)):
        folder = tmp / f"city-{students}"
        write_scenario(generate(students, regions=3, schools=6, seed=seed), folder)
        inputs["valid"].append((f"city-{students}.zip", zip_folder(folder)))
    big = tmp / "city-big"
    write_scenario(generate(40_000, regions=4, schools=10, seed=4), big)
    inputs["big"] = ("city-big.zip", zip_folder(big))
    small = inputs["valid"][0][1]
    with zipfile.ZipFile(io.BytesIO(small)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    bad = dict(members)
    bad["students.csv"] = members["students.csv"].replace(b",", b";", 40)
    ragged = members["students.csv"] + b"a,b,c,d,e,f,g,h\n"
    inputs["invalid"] = [("bad.zip", zip_of(bad)), ("notes.txt", b"hello"), ("s.zip", b"PK\x03\x04broken"),
                         ("ragged.zip", zip_of({**members, "students.csv": ragged})),
                         ("latin1.zip", zip_of({**members, "schools.csv": members["schools.csv"] + b"\xff\xfe\n"}))]
    inputs["hostile"] = [("traversal.zip", zip_of({**members, "../evil.csv": b"x"})),
                         ("abs.zip", zip_of({**members, "/etc/evil.csv": b"x"})),
                         ("bomb.zip", zip_of({"students.csv": b"0" * 60_000_000})),
                         ("many.zip", zip_of({f"f{i}.csv": b"a" for i in range(1200)}))]
    rng = random.Random(7)
    lines = ["student_id,region_id,score,evaluation,choice_1,choice_2"]
    lines += [f"x{rng.random()},R{rng.random()},junk{i},Q,S{rng.random()},T" for i in range(junk_rows)]
    junk = "\n".join(lines).encode() + b"\n"
    inputs["junk"] = ("junk.zip", zip_of({**{k: v for k, v in members.items() if k != "students.csv"},
                                          "students.csv": junk}), len(junk))
    return inputs


# the load -------------------------------------------------------------------------------------------------

class Soak:
    def __init__(self, server: Server, inputs: dict, seconds: float, max_requests: int, seed: int):
        self.server, self.inputs, self.seed = server, inputs, seed
        self.end = time.monotonic() + seconds
        self.budget = max_requests
        self.lock = threading.Lock()
        self.statuses: collections.Counter = collections.Counter()
        self.by_action: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.server_errors: list[str] = []
        self.down_errors = 0  # transport errors while the server was being killed and restarted
        self.other_errors: list[str] = []
        self.faults: collections.Counter = collections.Counter()
        self.scenarios: list[str] = []
        self.jobs: list[tuple[str, str]] = []  # (kind, id): kind in runs, whatif, sweep, bound
        self.done_runs: list[str] = []
        self.audits: list[str] = []
        self.created: collections.Counter = collections.Counter()
        self.down = threading.Event()

    def take(self) -> bool:
        with self.lock:
            if self.budget <= 0 or time.monotonic() > self.end:
                return False
            self.budget -= 1
            return True

    def call(self, http: httpx.Client, action: str, method: str, path: str, auth: bool = True, **kw):
        headers = {**(kw.pop("headers", None) or {}), **(AUTH if auth else {})}
        try:
            r = http.request(method, path, headers=headers, **kw)
        except httpx.TransportError as exc:
            with self.lock:
                if self.down.is_set():
                    self.down_errors += 1
                else:
                    self.other_errors.append(f"{type(exc).__name__} {method} {path}")
            time.sleep(0.3)
            return None
        with self.lock:
            self.statuses[r.status_code] += 1
            self.by_action[action][r.status_code] += 1
            if r.status_code >= 500:
                self.server_errors.append(f"{r.status_code} {method} {path}: {r.text[:200]}")
        return r

    def pick(self, rng: random.Random, items: list):
        with self.lock:
            return rng.choice(items) if items else None

    def client(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        actions = [(self.upload, 6), (self.upload_bad, 4), (self.run, 14), (self.analysis, 8), (self.audit, 4),
                   (self.cancel, 5), (self.delete_job, 5), (self.delete_scenario, 3), (self.read, 40),
                   (self.no_token, 5)]
        funcs, weights = zip(*actions)
        with httpx.Client(base_url=self.server.url, timeout=180) as http:
            while self.take():
                rng.choices(funcs, weights)[0](http, rng)
                time.sleep(rng.uniform(0.005, 0.04))

    def scenario_for_job(self, rng) -> str:
        own = self.pick(rng, self.scenarios)
        return own if own and rng.random() < 0.8 else rng.choice(BUNDLED[:1])

    def upload(self, http, rng) -> None:
        name, body = rng.choice(self.inputs["valid"])
        r = self.call(http, "upload", "POST", "/scenarios", files={"file": (name, body, "application/zip")})
        if r is not None and r.status_code == 201:
            with self.lock:
                self.scenarios.append(r.json()["id"])
                self.created["scenarios"] += 1

    def upload_bad(self, http, rng) -> None:
        kind = "hostile" if rng.random() < 0.5 else "invalid"
        name, body = rng.choice(self.inputs[kind])
        self.call(http, f"upload {kind}", "POST", "/scenarios", files={"file": (name, body, "application/zip")})
        with self.lock:
            self.faults[f"{kind} uploads"] += 1

    def run(self, http, rng) -> None:
        scenario = self.scenario_for_job(rng)
        if scenario in BUNDLED and rng.random() < 0.7:
            scenario = self.pick(rng, self.scenarios) or scenario
        engine = "sequential" if scenario in BUNDLED else rng.choice(("sequential", "sequential", "both"))
        body = {"engine": engine, "time_limit": rng.choice((5, 30, 60))}
        r = self.call(http, "queue", "POST", f"/scenarios/{scenario}/runs", json=body)
        if r is not None and r.status_code == 202:
            with self.lock:
                self.jobs.append(("runs", r.json()["id"]))
                self.created["runs"] += 1

    def analysis(self, http, rng) -> None:
        scenario = self.pick(rng, self.scenarios)
        if scenario is None:
            return
        kind = rng.choice(KINDS)
        body = {"whatif": {"changes": {"decline_rate": rng.choice((0.02, 0.05))}, "seed": rng.randrange(5)},
                "sweep": {"general_share": rng.choice(("0.5", "0.45,0.55"))}, "bound": None}[kind]
        r = self.call(http, "queue", "POST", f"/scenarios/{scenario}/{kind}", json=body)
        if r is not None and r.status_code == 202:
            with self.lock:
                self.jobs.append((kind, r.json()["id"]))
                self.created[kind] += 1

    def audit(self, http, rng) -> None:
        run = self.pick(rng, self.done_runs)
        if run is None:
            return
        info = self.call(http, "read", "GET", f"/runs/{run}")
        adm = self.call(http, "read", "GET", f"/runs/{run}/admissions.csv")
        if info is None or adm is None or info.status_code != 200 or adm.status_code != 200:
            return
        body = adm.content
        if rng.random() < 0.5:  # tampered: an admitted student dropped to unplaced
            lines = body.decode("utf-8-sig").splitlines()
            for i, line in enumerate(lines[1:], 1):
                if ",vocational," in line:
                    cells = line.split(",")
                    lines[i] = ",".join(cells[:2] + ["unplaced"] + [""] * (len(cells) - 3))
                    break
            body = ("\n".join(lines) + "\n").encode()
        r = self.call(http, "audit", "POST", f"/scenarios/{info.json()['scenario_id']}/audits",
                      files={"result": ("admissions.csv", body, "text/csv")})
        if r is not None and r.status_code == 201:
            with self.lock:
                self.audits.append(r.json()["id"])
                self.created["audits"] += 1

    def cancel(self, http, rng) -> None:
        job = self.pick(rng, self.jobs)
        if job is not None:
            self.call(http, "cancel", "POST", f"/{job[0]}/{job[1]}/cancel")

    def delete_job(self, http, rng) -> None:
        if rng.random() < 0.25:
            audit = self.pick(rng, self.audits)
            if audit is not None:
                self.call(http, "delete", "DELETE", f"/audits/{audit}")
            return
        job = self.pick(rng, self.jobs)
        if job is None:
            return
        r = self.call(http, "delete", "DELETE", f"/{job[0]}/{job[1]}")
        if r is not None and r.status_code in (204, 404):
            with self.lock:
                if job in self.jobs:
                    self.jobs.remove(job)
                if job[1] in self.done_runs:
                    self.done_runs.remove(job[1])

    def delete_scenario(self, http, rng) -> None:
        scenario = self.pick(rng, self.scenarios)
        if scenario is None:
            return
        r = self.call(http, "delete", "DELETE", f"/scenarios/{scenario}")
        if r is not None and r.status_code in (204, 404):
            with self.lock:
                if scenario in self.scenarios:
                    self.scenarios.remove(scenario)

    def read(self, http, rng) -> None:
        job = self.pick(rng, self.jobs)
        choice = rng.random()
        if job is None or choice < 0.15:
            path = rng.choice(("/health", "/runs", "/scenarios", "/runs?status=running"))
            self.call(http, "read", "GET", path)
            return
        kind, job_id = job
        r = self.call(http, "read", "GET", f"/{kind}/{job_id}")
        if r is None or r.status_code != 200:
            return
        body = r.json()
        if kind == "runs" and body["status"] == "done":
            with self.lock:
                if job_id not in self.done_runs:
                    self.done_runs.append(job_id)
        if body["status"] in ("done", "failed") and body.get("files"):
            self.call(http, "read", "GET", rng.choice(list(body["files"].values())))
        if kind == "runs" and body["status"] == "done" and choice < 0.6:
            params = {"limit": 50, "offset": rng.randrange(0, 200)}
            if rng.random() < 0.5:
                params["outcome"] = rng.choice(("vocational", "unplaced"))
            self.call(http, "read", "GET", f"/runs/{job_id}/students", params=params)

    def no_token(self, http, rng) -> None:
        path, method = rng.choice((("/scenarios", "GET"), ("/scenarios", "POST"), ("/no/such", "GET"),
                                   ("/health", "DELETE"), ("/scenarios/jiaozuo-2022/audits", "POST")))
        r = self.call(http, "no token", method, path, auth=False, content=b"{not json" if method == "POST" else None,
                      headers={"content-type": "application/json"} if method == "POST" else None)
        with self.lock:
            self.faults["requests without the token"] += 1
            if r is not None and r.status_code != 401:
                self.server_errors.append(f"{r.status_code} without the token: {method} {path}")


# the kill -------------------------------------------------------------------------------------------------

def kill_while_storing(soak: Soak, server: Server, when: float) -> dict:
    """Once ``when`` has come: queue a run of the big city, kill -9 the server as soon as that run is
    storing its tables (or after 60 s, whatever is running), start it again."""
    while time.monotonic() < when:
        time.sleep(0.2)
    http = httpx.Client(base_url=server.url, timeout=60, headers=AUTH)
    name, body = soak.inputs["big"]
    info = {"phase": None}
    try:
        scenario = http.post("/scenarios", files={"file": (name, body, "application/zip")}).json()["id"]
        run = None
        while time.monotonic() < soak.end:  # a full queue answers 429: try again, within the load's time
            r = http.post(f"/scenarios/{scenario}/runs", json={"engine": "sequential"})
            if r.status_code == 202:
                run = r.json()["id"]
                break
            time.sleep(0.1)
        deadline = min(time.monotonic() + 60, soak.end)
        while run is not None and time.monotonic() < deadline:
            progress = (http.get(f"/runs/{run}").json().get("progress") or {}).get("phase")
            if progress in ("storing the tables", "done"):
                info["phase"] = progress
                break
            time.sleep(0.005)
        with soak.lock:
            soak.jobs.append(("runs", run)) if run else None
            soak.scenarios.append(scenario)
        running = http.get("/runs", params={"status": "running"}).json()["items"]
        info["running"] = [(r["id"][:8], (r.get("progress") or {}).get("phase")) for r in running]
    finally:
        http.close()
    soak.down.set()
    server.kill()
    soak.faults["kill -9 of the server"] += 1
    t0 = time.perf_counter()
    server.start()
    info["restart_s"] = time.perf_counter() - t0
    soak.down.clear()
    return info


# the check ------------------------------------------------------------------------------------------------

def drain(server: Server, seconds: float) -> int:
    """Wait for the queue to empty; cancel what is still queued or running after ``seconds``."""
    http = httpx.Client(base_url=server.url, timeout=60, headers=AUTH)
    deadline = time.monotonic() + seconds
    cancelled = 0
    while True:
        h = http.get("/health").json()
        if h["runs_running"] + h["runs_queued"] + h["analyses_running"] + h["analyses_queued"] == 0:
            break
        if time.monotonic() > deadline:
            for status in ("queued", "running"):
                for run in http.get("/runs", params={"status": status, "limit": 1000}).json()["items"]:
                    cancelled += http.post(f"/runs/{run['id']}/cancel").status_code == 200
            db = sqlite3.connect(server.data_dir / "zhaosheng.db")
            for kind, job_id in db.execute("select kind, id from analyses where status in ('queued', 'running')"):
                cancelled += http.post(f"/{kind}/{job_id}/cancel").status_code == 200
            db.close()
            deadline = time.monotonic() + 30
        time.sleep(0.5)
    http.close()
    return cancelled


def csv_rows(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip()) - 1


def consistency(data_dir: Path, owner_pids_env: str) -> list[str]:
    problems: list[str] = []
    db = sqlite3.connect(data_dir / "zhaosheng.db")
    scenarios = {row[0]: row[1] for row in db.execute("select id, path from scenarios")}
    for sid, path in scenarios.items():
        if not (data_dir / path).exists():
            problems.append(f"scenario {sid}: its files {path} are missing")
    tables = {"runs": "runs", "analyses": "analyses", "audits": "audits"}
    rows = {t: {r[0]: r[1:] for r in db.execute(f"select id, status, scenario_id from {t}")} for t in tables}
    for table, jobs in rows.items():
        for job_id, (status, scenario_id) in jobs.items():
            folder = data_dir / table / job_id
            if status in ("queued", "running"):
                problems.append(f"{table} {job_id}: still {status}")
            if scenario_id not in BUNDLED and scenario_id not in scenarios:
                problems.append(f"{table} {job_id}: its scenario {scenario_id} is gone")
            summary = None
            if (folder / "summary.json").exists():
                summary = json.loads((folder / "summary.json").read_text(encoding="utf-8")).get("status")
            if table == "runs":
                if status == "done":
                    if summary != "done" or not (folder / "admissions.csv").exists():
                        problems.append(f"run {job_id}: done without its files")
                    else:
                        stored = db.execute("select count(*) from admissions where run_id = ?", (job_id,)).fetchone()[0]
                        if stored != csv_rows(folder / "admissions.csv"):
                            problems.append(f"run {job_id}: {stored} rows stored, admissions.csv has "
                                            f"{csv_rows(folder / 'admissions.csv')}")
                elif summary == "done" or (folder / "admissions.csv").exists():
                    problems.append(f"run {job_id}: {status} but its folder holds a result")
                elif db.execute("select count(*) from admissions where run_id = ?", (job_id,)).fetchone()[0]:
                    problems.append(f"run {job_id}: {status} with admission rows")
            elif table == "analyses":
                if status == "done" and summary != "done":
                    problems.append(f"analysis {job_id}: done without its files")
                if status != "done" and summary == "done":
                    problems.append(f"analysis {job_id}: {status} but its folder holds a result")
            elif status in ("clean", "violations"):
                if summary is None:
                    problems.append(f"audit {job_id}: {status} without its files")
                else:
                    stored = db.execute("select count(*) from violations where audit_id = ?", (job_id,)).fetchone()[0]
                    if stored != csv_rows(folder / "violations.csv"):
                        problems.append(f"audit {job_id}: {stored} violations stored, the file has "
                                        f"{csv_rows(folder / 'violations.csv')}")
    owners = {"runs": rows["runs"], "analyses": rows["analyses"], "audits": rows["audits"], "scenarios": scenarios}
    for kind, known in owners.items():
        folder = data_dir / kind
        for entry in (folder.iterdir() if folder.is_dir() else ()):
            if entry.name.startswith("."):
                problems.append(f"{kind}/{entry.name}: a staging folder left behind")
            elif entry.name not in known:
                problems.append(f"{kind}/{entry.name}: a folder without a row")
    for table in ("admissions", "figures"):
        orphans = db.execute(f"select count(*) from {table} where run_id not in (select id from runs)").fetchone()[0]
        if orphans:
            problems.append(f"{orphans} {table} rows of runs that are gone")
    uploads = data_dir / "uploads"
    left = [p for owner in uploads.iterdir() for p in owner.iterdir()] if uploads.is_dir() else []
    problems += [f"uploads/{p.parent.name}/{p.name}: an upload left behind" for p in left]
    db.close()
    for proc in Path("/proc").iterdir():  # workers of either server still alive
        if proc.name.isdigit():
            try:
                if owner_pids_env.encode() in (proc / "environ").read_bytes():
                    problems.append(f"process {proc.name} of the service still running")
            except OSError:
                pass
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=150.0, help="upper bound of the mixed load")
    ap.add_argument("--max-requests", type=int, default=4000, help="upper bound of its requests, all clients")
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--queue", type=int, default=12, help="MAX_QUEUED_JOBS of the server")
    ap.add_argument("--junk-rows", type=int, default=650_000, help="rows of the junk CSV (650,000: about 50 MB)")
    ap.add_argument("--drain", type=float, default=90.0, help="seconds the queue may take to empty at the end")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="zhaosheng-soak-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        inputs = make_inputs(tmp / "inputs", args.junk_rows)
        print(f"inputs ready in {time.perf_counter() - t0:.1f} s (junk: {inputs['junk'][2] / 1e6:.0f} MB CSV in a "
              f"{len(inputs['junk'][1]) / 1e6:.0f} MB zip)", flush=True)
        data_dir = tmp / "data"
        server = Server(data_dir, free_port(), args.queue)
        server.start()
        print(f"server {server.url} (pid {server.proc.pid}), {args.clients} clients, at most {args.seconds:g} s "
              f"and {args.max_requests:,} requests", flush=True)
        try:
            # 1. the junk upload and the server's memory
            http = httpx.Client(base_url=server.url, timeout=600, headers=AUTH)
            http.post("/scenarios", json={"regions": []})  # the validating processes' first start
            before, peak, done = rss_mb(server.proc.pid), [0.0], threading.Event()

            def sample():
                while not done.is_set():
                    peak[0] = max(peak[0], rss_mb(server.proc.pid))
                    time.sleep(0.01)

            sampler = threading.Thread(target=sample)
            sampler.start()
            t0 = time.perf_counter()
            r = http.post("/scenarios", files={"file": (inputs["junk"][0], inputs["junk"][1], "application/zip")})
            junk_s = time.perf_counter() - t0
            done.set()
            sampler.join()
            after = rss_mb(server.proc.pid)
            junk = r.json()
            print(f"junk upload: {r.status_code} in {junk_s:.1f} s, {len(junk.get('problems', []))} problems listed "
                  f"of {junk.get('problems_total', 0):,}; server RSS {before:.0f} MB before, {peak[0]:.0f} MB at "
                  f"its peak, {after:.0f} MB after", flush=True)
            http.close()

            # 2-3. the mixed load, with one kill -9 a third of the way in
            soak = Soak(server, inputs, args.seconds, args.max_requests, args.seed)
            kill_info: dict = {}
            killer = threading.Thread(target=lambda: kill_info.update(
                kill_while_storing(soak, server, time.monotonic() + args.seconds / 3)))
            t0 = time.perf_counter()
            killer.start()
            clients = [threading.Thread(target=soak.client, args=(i,)) for i in range(args.clients)]
            for c in clients:
                c.start()
            for c in clients:
                c.join()
            killer.join()
            load_s = time.perf_counter() - t0
            print(f"load: {sum(soak.statuses.values()):,} answers in {load_s:.0f} s; kill -9 with the big run "
                  f"'{kill_info.get('phase')}', running then: {kill_info.get('running')}; restart "
                  f"{kill_info.get('restart_s', float('nan')):.1f} s", flush=True)

            # 4. drain, stop, check
            t0 = time.perf_counter()
            cancelled = drain(server, args.drain)
            drain_s = time.perf_counter() - t0
        finally:
            server.stop()
        time.sleep(3)  # the workers' watch of their server
        problems = consistency(data_dir, f"ZHAOSHENG_DATA_DIR={data_dir}")
        db = sqlite3.connect(data_dir / "zhaosheng.db")
        final = {t: dict(db.execute(f"select status, count(*) from {t} group by status").fetchall())
                 for t in ("runs", "analyses", "audits")}
        cancelled_jobs = sum(db.execute(f"select count(*) from {t} where cancelled").fetchone()[0]
                             for t in ("runs", "analyses"))
        reasons = collections.Counter()
        for t in ("runs", "analyses", "audits"):
            for (reason,) in db.execute(f"select reason from {t} where status = 'failed'"):
                reasons[re.sub(r"[0-9.]+ (s|error)", r"N \1", (reason or "?").split(":")[0])] += 1
        interrupted = reasons.get("interrupted", 0)
        db.close()
        # the service logs each unexpected error as "error <id> on <method> <path>" with its traceback
        errors_logged = len(re.findall(r"^error [0-9a-f]{12} on ", server.log.read_text(errors="replace"), re.M))

        requests = sum(soak.statuses.values()) + soak.down_errors + len(soak.other_errors)
        print()
        print(f"requests:        {requests:,} ({', '.join(f'{k}: {v:,}' for k, v in sorted(soak.statuses.items()))}; "
              f"{soak.down_errors} refused while the server was down, {len(soak.other_errors)} other transport errors)")
        for action, counts in sorted(soak.by_action.items()):
            print(f"  {action:16} {', '.join(f'{k}: {v:,}' for k, v in sorted(counts.items()))}")
        made = soak.created
        print(f"jobs:            {made['runs']} runs, {made['whatif']} what-ifs, {made['sweep']} "
              f"sweeps, {made['bound']} bounds, {made['audits']} audits, "
              f"{made['scenarios']} scenarios uploaded; at the end {final} "
              f"({cancelled_jobs} cancelled, {interrupted} interrupted, {cancelled} cancelled by the drain); "
              f"failed: {dict(reasons)}")
        faults = ", ".join(f"{k}: {v}" for k, v in sorted(soak.faults.items()))
        print(f"faults injected: {sum(soak.faults.values()) + 1:,} ({faults}, junk upload: 1)")
        print(f"memory:          server RSS {before:.0f} MB before the junk upload, {peak[0]:.0f} MB at its peak, "
              f"{after:.0f} MB after (junk answered {r.status_code} in {junk_s:.1f} s)")
        print(f"5xx answers:     {len(soak.server_errors)}"
              + (f" e.g. {soak.server_errors[:3]}" if soak.server_errors else ""))
        print(f"inconsistencies: {len(problems)}" + "".join(f"\n  {p}" for p in problems[:30]))
        print(f"time:            {time.perf_counter() - t_start:.0f} s in all ({load_s:.0f} s of load, drain "
              f"{drain_s:.0f} s); unexpected errors in the server log: {errors_logged}")
        bad = problems or soak.server_errors or soak.other_errors or errors_logged
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
