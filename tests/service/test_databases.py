"""What differs between SQLite and PostgreSQL, held to one behaviour (issue #16): values longer than the
columns' declared lengths and the character NUL are stored (PostgreSQL would refuse them), a NUL in an id
of the URL is a 404 (not a driver's error), and the queue's cap holds under concurrent requests through two
apps on one database (SQLite's write lock, PostgreSQL's advisory lock: `routes.common.lock_queue`).  On
PostgreSQL a run's tables are analyzed once stored (the planner's statistics)."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from api.service import Settings, create_app
from api.service.db import AnalysisRecord, RunRecord

from api_helpers import wait_run
from builders import region, scenario_dict, school, student

LONG = "长" * 70 + "x" * 30  # 100 characters, past the 64 a column of ids declares


def test_long_values_and_nul_are_stored(tmp_path, backend):
    data = scenario_dict(regions=[region("R" + LONG)],
                         schools=[school("A" + LONG, 1, region="R" + LONG), school("B", 1, region="R" + LONG)],
                         students=[student("s" + LONG, 90, ["A" + LONG, "B"], region="R" + LONG),
                                   student("s\x00nul", 80, ["A" + LONG, "B"], region="R" + LONG)],
                         name="名" * 300)
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        r = c.post("/scenarios", json=data)
        assert r.status_code == 201, r.text
        assert r.json()["name"] == "名" * 300
        scenario = r.json()["id"]
        run = wait_run(c, c.post(f"/scenarios/{scenario}/runs", json={"engine": "sequential"}).json()["id"])
        assert run["status"] == "done", run
        page = c.get(f"/runs/{run['id']}/students").json()
        nul = "s\ufffdnul" if backend == "postgresql" else "s\x00nul"  # PostgreSQL's text holds no NUL
        assert [(s["student_id"], s["school_id"]) for s in page["items"]] == [("s" + LONG, "A" + LONG), (nul, "B")]
        schools = c.get(f"/runs/{run['id']}/schools").json()
        assert [s["school_id"] for s in schools["items"]] == ["A" + LONG, "B"]
        assert c.get(f"/runs/{run['id']}/students", params={"school": "A" + LONG}).json()["total"] == 1
        if backend == "postgresql":  # the worker gave the planner the new rows' statistics (storage.refresh_statistics)
            with c.app.state.engine.connect() as conn:
                analyzed = conn.execute(text("select relname from pg_stat_user_tables where analyze_count > 0"))
                assert {"admissions", "figures"} <= set(analyzed.scalars())


def test_a_nul_in_an_id_of_the_url_is_404(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        for method, path in (("GET", "/scenarios/a%00b"), ("GET", "/runs/a%00b"), ("GET", "/runs/a%00b/students"),
                             ("POST", "/runs/a%00b/cancel"), ("DELETE", "/runs/a%00b"), ("GET", "/whatif/a%00b"),
                             ("GET", "/audits/a%00b"), ("POST", "/scenarios/a%00b/runs")):
            r = c.request(method, path, json={} if method == "POST" else None)
            assert r.status_code == 404, (method, path, r.status_code, r.text)


def test_the_queue_cap_holds_under_concurrent_requests_through_two_apps(tmp_path, monkeypatch):
    """Two apps (as two server processes) on one database, eight threads asking for 40 jobs at once with
    room for 6: exactly 6 are queued, the others refused with 429."""
    settings = Settings(data_dir=tmp_path, max_queued_jobs=6)
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        for c in (first, second):
            monkeypatch.setattr(c.app.state.jobs, "_dispatch", lambda: None)  # nothing starts: all stay queued
        statuses: list[int] = []
        lock = threading.Lock()

        def ask(c: TestClient, n: int) -> None:
            for i in range(5):
                r = (c.post("/scenarios/jiaozuo-2022/runs", json={"engine": "sequential"}) if (n + i) % 2 else
                     c.post("/scenarios/jiaozuo-2022/bound"))
                with lock:
                    statuses.append(r.status_code)

        threads = [threading.Thread(target=ask, args=(c, n)) for n in range(4) for c in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert sorted(set(statuses)) == [202, 429] and statuses.count(202) == 6, statuses
        with first.app.state.sessions() as s:
            queued = sum(s.scalar(select(func.count()).select_from(t).where(t.status == "queued"))
                         for t in (RunRecord, AnalysisRecord))
        assert queued == 6
