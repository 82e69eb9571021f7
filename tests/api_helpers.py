"""Helpers of the service tests: zipped scenario folders, uploads, waiting for runs and processes."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from models import write_scenario
from scenarios import generate

from builders import region, scenario_dict, school, student


def zip_folder(folder: Path, prefix: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + str(path.relative_to(folder)))
    return buf.getvalue()


def wait_run(client: TestClient, run_id: str, timeout: float = 90) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        body = client.get(f"/runs/{run_id}").json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not end in {timeout} s: {body}")


def small() -> dict:
    """A valid hand-made scenario in the JSON form: two regions, three schools, five students."""
    return scenario_dict(
        regions=[region("R1"), region("R2")],
        schools=[school("A", 2), school("B", 1), school("C", 1, region="R2")],
        students=[student("s1", 90, ["A", "B"]), student("s2", 80, ["B"], region="R2"),
                  student("s3", 70, ["C"]), student("s4", 60, ["A", "C"]), student("s5", 50, ["B"])],
        batches=2)


def upload(client, tmp_path: Path, students: int, seed: int = 1) -> str:
    folder = tmp_path / f"city-{students}-{seed}"
    write_scenario(generate(students, regions=3, schools=6, seed=seed), folder)
    r = client.post("/scenarios", files={"file": ("city.zip", zip_folder(folder), "application/zip")})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def wait_for(predicate, timeout: float = 30, step: float = 0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out")


def process_gone(pid: int) -> bool:
    """Reaped, or at least no longer running (a zombie waits for its parent's join)."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return True
    try:
        return "\nState:\tZ" in status.read_text()
    except OSError:
        return True


needs_proc = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
