"""Benchmark: the service under load while a run is solving (issue #5), on SQLite and on PostgreSQL, with
one server process or several sharing the database (issue #16).

    python benchmarks/bench_api_load.py                       # 20 clients, hengyang-2021, engine both, both databases
    python benchmarks/bench_api_load.py --database postgresql --servers 2
    python benchmarks/bench_api_load.py --clients 20 --seconds 20 --max-requests 400 --database sqlite

For each database (``--database sqlite|postgresql|both``) it starts ``--servers`` ``zhaosheng serve``
processes on free loopback ports (127.0.0.1 only) with one temporary data directory and one database (a
SQLite file there; or a database on a PostgreSQL server of the benchmark's own, with PostgreSQL's default
fsync and synchronous commit, from ``tests/pg_server.py``: Debian's ``postgresql`` package, or
``--postgres URI`` of a running server whose role may create databases), finishes one sequential run of the
scenario to have results to page through, then measures the same mix of requests twice with ``--clients``
threads (one httpx client each, spread over the servers):

- baseline: against the idle servers;
- load: while a ``--engine`` run of the scenario is solving in a worker process (of whichever server
  claimed it).

The mix: the run's status (``GET /runs/{id}``), a page of students filtered by region, school or outcome
at a random offset, a page of schools.  Each phase is bounded by ``--seconds`` and by ``--max-requests``
per client.  It prints requests/s, p50 / p99 / max latency, the request count and failures of each phase,
the ratio load / baseline, and with both databases the ratio PostgreSQL / SQLite of each figure, measured in
the same run; the servers are stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only
DATABASES = ("sqlite", "postgresql")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, database_url: str, name: str) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHAOSHENG_") or k == "ZHAOSHENG_CACHE"}
    env["ZHAOSHENG_DATA_DIR"] = str(data_dir)
    env["ZHAOSHENG_MAX_CONCURRENT_RUNS"] = "1"
    log = data_dir.parent / f"{name}.log"
    with open(log, "wb") as out:  # the server writes to its own copy of the file descriptor
        proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--host", HOST, "--port", str(port),
                                 "--database", database_url, "--log-level", "warning"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url, log
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    sys.exit("the server did not come up in 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_run(client: httpx.Client, run_id: str, until=("done", "failed"), timeout: float = 1800) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/runs/{run_id}").json()
        if body["status"] in until:
            return body
        time.sleep(0.25)
    sys.exit(f"run {run_id} not {until} after {timeout} s")


def requests_mix(rng: random.Random, status_run: str, results_run: str, regions: list[str], schools: list[str],
                 students: int) -> tuple[str, dict]:
    kind = rng.random()
    if kind < 0.4:
        return f"/runs/{status_run}", {}
    if kind < 0.85:
        params = {"limit": 100, "offset": rng.randrange(0, max(students // 4, 1))}
        which = rng.choice(("region", "school", "outcome", None))
        if which == "region":
            params["region"] = rng.choice(regions)
        elif which == "school":
            params["school"], params["offset"] = rng.choice(schools), rng.randrange(0, 500)
        elif which == "outcome":
            params["outcome"] = rng.choice(("general", "vocational", "unplaced"))
        return f"/runs/{results_run}/students", params
    return f"/runs/{results_run}/schools", {"limit": 50, "offset": rng.randrange(0, 20)}


def load_phase(urls: list[str], clients: int, seconds: float, max_requests: int, status_run: str, results_run: str,
               regions: list[str], schools: list[str], students: int, stop: threading.Event | None = None) -> dict:
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(seed: int) -> None:
        rng = random.Random(seed)
        mine, bad = [], []
        with httpx.Client(base_url=urls[seed % len(urls)], timeout=30) as http:  # spread over the servers
            start.wait()
            end = time.monotonic() + seconds
            for _ in range(max_requests):
                if time.monotonic() > end or (stop is not None and stop.is_set()):
                    break
                path, params = requests_mix(rng, status_run, results_run, regions, schools, students)
                t0 = time.perf_counter()
                try:
                    r = http.get(path, params=params)
                    ok = r.status_code == 200
                    if not ok:
                        bad.append(f"{r.status_code} {path}")
                except httpx.HTTPError as exc:
                    bad.append(f"{type(exc).__name__} {path}")
                mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)
            failures.extend(bad)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    latencies.sort()
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {"requests": len(latencies), "failures": len(failures), "failure_examples": failures[:5],
            "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000, "max_ms": latencies[-1] * 1000 if latencies else 0.0,
            "wall_s": wall, "rps": len(latencies) / wall if wall else 0.0}


def show(name: str, m: dict) -> None:
    print(f"  {name:9} {m['requests']:6,} requests in {m['wall_s']:5.1f} s ({m['rps']:6.1f}/s)   "
          f"p50 {m['p50_ms']:7.1f} ms   p99 {m['p99_ms']:7.1f} ms   max {m['max_ms']:7.1f} ms   "
          f"failures {m['failures']}" + (f"  e.g. {m['failure_examples']}" if m["failures"] else ""), flush=True)


def bench(args, database: str, database_url: str, tmp: Path) -> dict:
    """One database: the servers, the results to page, baseline and load; the figures of both phases."""
    data = tmp / "data"
    data.mkdir()
    with ExitStack() as stack:
        servers = []
        for i in range(args.servers):  # one after another: the first applies the migrations
            proc, url, _ = start_server(data, database_url, f"server-{i + 1}")
            stack.callback(stop_server, proc)
            servers.append((proc, url))
        urls = [url for _, url in servers]
        http = httpx.Client(base_url=urls[0], timeout=60)
        pids = ", ".join(str(proc.pid) for proc, _ in servers)
        print(f"{database}: {len(servers)} server(s) {', '.join(urls)} (pid {pids}), scenario {args.scenario}, "
              f"{args.clients} clients", flush=True)
        t0 = time.perf_counter()
        first = http.post(f"/scenarios/{args.scenario}/runs", json={"engine": "sequential"}).json()
        results = wait_run(http, first["id"])
        if results["status"] != "done":
            sys.exit(f"the sequential run failed: {results['reason']}")
        students = results["summary"]["counts"]["students"]
        page = {"limit": 1000}
        regions = [r["region_id"] for r in http.get(f"/runs/{first['id']}/regions", params=page).json()["items"]]
        schools = [s["school_id"] for s in http.get(f"/runs/{first['id']}/schools", params=page).json()["items"]]
        print(f"  results to page: run {first['id'][:8]} ({students:,} students, {len(regions)} regions, "
              f"{len(schools)} schools) ready in {time.perf_counter() - t0:.1f} s", flush=True)

        baseline = load_phase(urls, args.clients, args.seconds, args.max_requests, first["id"], first["id"],
                              regions, schools, students)
        show("baseline", baseline)

        run = http.post(f"/scenarios/{args.scenario}/runs", json={"engine": args.engine}).json()
        body = wait_run(http, run["id"], until=("running", "done", "failed"), timeout=120)
        # measure while the worker is at work (past its start-up), not while it is still importing
        while body["status"] == "running" and body["progress"]["phase"] in ("starting", "loading the scenario"):
            time.sleep(0.1)
            body = http.get(f"/runs/{run['id']}").json()
        phase_at_start = body["progress"]["phase"] if body["status"] == "running" else body["status"]
        done = threading.Event()

        def watch():
            wait_run(httpx.Client(base_url=urls[-1], timeout=60), run["id"])
            done.set()

        threading.Thread(target=watch, daemon=True).start()
        loaded = load_phase(urls, args.clients, args.seconds, args.max_requests, run["id"], first["id"],
                            regions, schools, students, stop=done)
        show("load", loaded)
        print(f"  (the {args.engine} run was '{phase_at_start}' when the load began and "
              f"{'had finished' if done.is_set() else 'was still running'} when it ended)", flush=True)
        print(f"  ratio load / baseline: p50 x{loaded['p50_ms'] / baseline['p50_ms']:.2f}, "
              f"p99 x{loaded['p99_ms'] / baseline['p99_ms']:.2f}", flush=True)

        final = wait_run(http, run["id"])
        verdict = (final.get("verification") or {}).get("verdict")
        print(f"  the {args.engine} run: {final['status']}"
              + (f", verification {verdict}" if verdict else "")
              + (f", {final['reason']}" if final["reason"] else "")
              + f", {final['elapsed_seconds']:.1f} s in its worker", flush=True)
        http.close()
    return {"baseline": baseline, "load": loaded, "run_status": final["status"],
            "run_seconds": final["elapsed_seconds"]}


def postgres_database(stack: ExitStack, given: str | None) -> str:
    """A new database on the server ``given`` (a libpq URI) or on a PostgreSQL of the benchmark's own."""
    sys.path.insert(0, str(ROOT / "tests"))
    from pg_server import PostgresServer, PostgresUnavailable

    if given:
        os.environ["ZHAOSHENG_TEST_POSTGRES"] = given
    server = PostgresServer()
    try:
        server.start(durable=True)
    except PostgresUnavailable as exc:
        server.stop()
        sys.exit(f"no PostgreSQL for the benchmark: {exc}")
    stack.callback(server.stop)
    url = server.create_database("bench")
    stack.callback(server.drop_database, url)
    return url


def compare(results: dict[str, dict]) -> None:
    """PostgreSQL / SQLite of each figure, when both were measured."""
    if set(results) != set(DATABASES):
        return
    pg, lite = results["postgresql"], results["sqlite"]
    print("PostgreSQL / SQLite (same run):", flush=True)
    for phase in ("baseline", "load"):
        a, b = pg[phase], lite[phase]
        print(f"  {phase:9} requests/s x{a['rps'] / b['rps']:.2f}   p50 x{a['p50_ms'] / b['p50_ms']:.2f}   "
              f"p99 x{a['p99_ms'] / b['p99_ms']:.2f}   max x{a['max_ms'] / b['max_ms']:.2f}", flush=True)
    print(f"  the {pg['run_status']} run in its worker x{pg['run_seconds'] / lite['run_seconds']:.2f} "
          f"({pg['run_seconds']:.1f} s / {lite['run_seconds']:.1f} s)", flush=True)


def main() -> None:
    from solver.run import ENGINES

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="hengyang-2021")
    ap.add_argument("--engine", default="both", choices=ENGINES)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20.0, help="upper bound of each phase")
    ap.add_argument("--max-requests", type=int, default=400, help="upper bound per client and phase")
    ap.add_argument("--database", choices=(*DATABASES, "both"), default="both")
    ap.add_argument("--servers", type=int, default=1, help="server processes sharing the database and data directory")
    ap.add_argument("--postgres", metavar="URI", help="a running PostgreSQL (libpq URI of a role that may create "
                                                      "databases) instead of one of the benchmark's own")
    args = ap.parse_args()
    if args.servers < 1:
        ap.error("--servers must be at least 1")

    results: dict[str, dict] = {}
    for database in (DATABASES if args.database == "both" else (args.database,)):
        with tempfile.TemporaryDirectory(prefix="zhaosheng-bench-api-") as tmp, ExitStack() as stack:
            url = (postgres_database(stack, args.postgres) if database == "postgresql"
                   else f"sqlite:///{Path(tmp) / 'data' / 'zhaosheng.db'}")
            results[database] = bench(args, database, url, Path(tmp))
    compare(results)
    failed = sum(r[phase]["failures"] for r in results.values() for phase in ("baseline", "load"))
    print("no request failed" if not failed else f"{failed} request(s) failed", flush=True)
    sys.exit(1 if failed or any(r["run_status"] != "done" for r in results.values()) else 0)


if __name__ == "__main__":
    main()
