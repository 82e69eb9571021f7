"""The service's storage (issue #5): the Alembic migrations build exactly the tables the code declares,
applied programmatically (no alembic.ini), on SQLite and on PostgreSQL, and a run's tables go into the
database and come back as the CLI wrote them."""

from __future__ import annotations

import pandas as pd
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from api.service import Settings
from api.service.db import MIGRATIONS, AdmissionRecord, Base, FigureRecord, RunRecord, make_engine, upgrade, utcnow
from api.service.storage import store_run_tables
from models import load_scenario_data
from solver.run import run

from builders import region, scenario_dict, school, student


def test_migrations_build_the_declared_schema_and_run_twice(tmp_path):
    engine = make_engine(Settings(data_dir=tmp_path).db_url)  # SQLite, or the test's PostgreSQL
    upgrade(engine)
    upgrade(engine)  # at every start: a no-op once at head
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head == sorted(p.name for p in MIGRATIONS.joinpath("versions").glob("0*.py"))[-1][:4]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select version_num from alembic_version").scalar() == head
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}


def test_a_runs_tables_round_trip(tmp_path):
    sc = load_scenario_data(scenario_dict(
        regions=[region("R1"), region("R2")], schools=[school("A", 1), school("B", 1, region="R2")],
        students=[student("s1", 90, ["A"]), student("s2", 80, ["A", "B"], region="R2"), student("s3", 70, ["A"])],
        batches=2))
    out = run(sc, "sequential")
    engine = make_engine(Settings(data_dir=tmp_path).db_url)  # SQLite, or the test's PostgreSQL
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(RunRecord.__table__.insert().values(
            id="r1", scenario_id="x", engine="sequential", time_limit=1.0, hint=False, status="done",
            cancelled=False, created_at=utcnow()))
        store_run_tables(conn, "r1", out.result.admissions, out.schools, out.regions, out.subquotas)
        store_run_tables(conn, "r1", out.result.admissions, out.schools, out.regions, out.subquotas)  # replaces
    with engine.connect() as conn:
        rows = conn.execute(select(AdmissionRecord).order_by(AdmissionRecord.pos)).all()
        figures = conn.execute(select(FigureRecord.kind, FigureRecord.key, FigureRecord.data)
                               .order_by(FigureRecord.kind, FigureRecord.pos)).all()
    adm = out.result.admissions
    assert [r.student_id for r in rows] == adm["student_id"].tolist() == ["s1", "s2", "s3"]
    assert [(r.outcome, r.school_id, r.batch, r.choice_rank) for r in rows] == [
        (o, None if pd.isna(s) or s == "" else s, None if pd.isna(b) else int(b), None if pd.isna(k) else int(k))
        for o, s, b, k in zip(adm["outcome"], adm["school_id"], adm["batch"], adm["choice_rank"])]
    assert rows[2].batch is None and rows[2].admit_date is None  # s3 holds no seat: empty cells are null
    schools = [f for f in figures if f.kind == "schools"]
    assert [f.key for f in schools] == ["A", "B"] and schools[0].data["quota"] == 1
    assert {f.key for f in figures if f.kind == "regions"} == {"R1", "R2"}
