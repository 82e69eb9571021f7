"""Monte Carlo of declines (issue #16.3): each draw equals a plain run of the scenario with the draw's declines
written in; a hand-checked case; rate 0 and rate 1; the same seed gives the same result in this process, on a
LocalCluster of 1 and of 2 workers (and, in test_distributed.py, on a real scheduler with two workers); bad
parameters exit 2; the files."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from models import load_scenario_data
from scenarios import generate
from solver.analysis.montecarlo import (
    TOTAL,
    MonteCarloError,
    check_params,
    draw_declines,
    draw_masks,
    montecarlo,
    parse_rate,
    run_draw,
    task_ranges,
    write_montecarlo,
)
from solver.run import run

from builders import scenario_dict, school, student, write_csv_folder


@pytest.fixture(scope="module")
def city():
    """A small city with declines listed, three batches, an unregistered school and sub-quotas."""
    return generate(1500, regions=3, schools=6, seed=5)


def plain_run_figures(sc, declines: pd.DataFrame):
    """A draw the long way: the scenario with ``declines`` as its declines.csv, run with `solver.run.run`."""
    out = run(dataclasses.replace(sc, declines=declines), engine="sequential")
    reg = out.regions
    return (out.schools["vacancies"].to_numpy(), out.schools["declined"].to_numpy(),
            reg["general"].to_numpy(), reg["vocational"].to_numpy(), reg["unplaced"].to_numpy())


def assert_reports_equal(a, b) -> None:
    pd.testing.assert_frame_equal(a.schools, b.schools)
    pd.testing.assert_frame_equal(a.regions, b.regions)
    pd.testing.assert_frame_equal(a.per_draw, b.per_draw)


# Parameters ----------------------------------------------------------------------------------------------------

def test_rates_parse():
    assert parse_rate("0.04") == 0.04 and parse_rate("4%") == 0.04 and parse_rate(1) == 1.0 and parse_rate("0") == 0
    assert check_params("4%", 1, 0) == 0.04


@pytest.mark.parametrize("rate, draws, seed, words", [
    ("1.5", 10, 1, "between 0 and 1"), ("-0.1", 10, 1, "between 0 and 1"), ("abc", 10, 1, "a number between"),
    ("nan", 10, 1, "between 0 and 1"), ("0.04", 0, 1, "at least one draw"), ("0.04", 5, -1, "seed")])
def test_bad_parameters_are_refused(rate, draws, seed, words):
    with pytest.raises(MonteCarloError, match=words):
        check_params(rate, draws, seed)


@pytest.mark.parametrize("args, words", [
    (["--decline-rate", "1.5"], "between 0 and 1"), (["--decline-rate", "-0.01"], "between 0 and 1"),
    (["--draws", "0"], "at least one draw"), (["--seed", "-3"], "seed"), (["--workers", "0"], "--workers"),
    (["--scheduler", "localhost"], "tcp://HOST:PORT"), (["--scheduler", "tcp://h:99999"], "tcp://HOST:PORT"),
    (["--serial", "--scheduler", "tcp://127.0.0.1:8786"], "--serial")])
def test_bad_parameters_exit_2(tmp_path, args, words):
    from api.cli import cli

    res = CliRunner().invoke(cli, ["montecarlo", "nowhere", *args, "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 2, res.output
    assert words in res.output
    assert not (tmp_path / "o").exists()  # refused before loading or running anything


def test_seeds_are_keyed_by_the_draw():
    """Draw d is the same whatever the number of draws: SeedSequence(seed).spawn(n)[d]."""
    children = np.random.SeedSequence(7).spawn(5)
    for d in (0, 3, 4):
        want = np.random.default_rng(children[d]).random(50) < 0.3
        assert (draw_masks(50, [1], 0.3, 7, d)[1] == want).all()
    assert not (draw_masks(1000, [1], 0.5, 7, 0)[1] == draw_masks(1000, [1], 0.5, 7, 1)[1]).all()
    assert [list(r) for r in task_ranges(3)] == [[-1], [0], [1], [2]]
    assert sum(len(r) for r in task_ranges(2500)[1:]) == 2500 and len(task_ranges(2500)) <= 1001


# Each draw is a plain run -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("keep", [False, True])
def test_each_draw_equals_a_plain_run_with_its_declines(city, keep):
    for d in range(3):
        fig = run_draw(city, 0.2, 11, d, keep_declines=keep)
        declines = draw_declines(city, 0.2, 11, d, keep_declines=keep)
        vac, declined, gen, voc, unp = plain_run_figures(city, declines)
        assert fig.vacancies.tolist() == vac.tolist()
        assert fig.declined.tolist() == declined.tolist()
        assert (fig.general.tolist(), fig.vocational.tolist(), fig.unplaced.tolist()) == \
            (gen.tolist(), voc.tolist(), unp.tolist())
        assert fig.declined.sum() > 0
    listed = set(map(tuple, city.declines[["student_id", "batch"]].astype(str).to_numpy()))
    drawn = set(map(tuple, draw_declines(city, 0.2, 11, 0, keep_declines=True).astype(str).to_numpy()))
    assert listed <= drawn


def test_the_report_gathers_the_draws(city):
    report = montecarlo(city, 0.1, 4, 3, serial=True)
    figures = [run_draw(city, 0.1, 3, d) for d in range(4)]
    registered = city.schools["registered"].to_numpy()
    assert report.per_draw["draw"].tolist() == [0, 1, 2, 3]
    assert report.per_draw["vacancies"].tolist() == [int(f.vacancies[registered].sum()) for f in figures]
    assert report.per_draw["declined"].tolist() == [int(f.declined.sum()) for f in figures]
    vac = np.vstack([f.vacancies for f in figures])
    np.testing.assert_allclose(report.schools["vacancies_mean"], vac.mean(axis=0).round(2))
    np.testing.assert_allclose(report.schools["vacancies_p95"], np.percentile(vac, 95, axis=0).round(4))
    np.testing.assert_allclose(report.schools["fill_probability"], (vac == 0).mean(axis=0))
    given = run(city)  # the scenario as given, its declines.csv
    assert report.schools["vacancies_scenario"].tolist() == given.schools["vacancies"].tolist()
    total = report.regions[report.regions["name"] == TOTAL].iloc[0]
    assert total["vocational_scenario"] == given.regions["vocational"].sum()
    voc = np.array([f.vocational.sum() for f in figures])
    gen = np.array([f.general.sum() for f in figures])
    np.testing.assert_allclose(total["vocational_per_general_p50"], np.percentile(voc / gen, 50).round(4))
    grads = city.regions["graduates"].sum()
    np.testing.assert_allclose(total["enrollment_rate_p5"], np.percentile((gen + voc) / grads, 5).round(4))


# Hand-checked -------------------------------------------------------------------------------------------------------

def two_batches() -> dict:
    """A has one seat; a (90) and b (80) list A, in both batches (batch 2 falls back to the first list).
    Batch 1 offers A to a; if a declines, the seat comes back and batch 2 offers it to b (a may not apply to A
    again); so A stays empty exactly when a declines in batch 1 and b declines in batch 2."""
    return scenario_dict([student("a", 90, ["A"]), student("b", 80, ["A"])], [school("A", 1)], batches=2,
                         declines=[("b", 1)])


def test_hand_checked_draws():
    sc = load_scenario_data(two_batches())
    report = montecarlo(sc, 0.5, 40, 5, serial=True)
    empty = []
    for d in range(40):
        masks = draw_masks(2, [1, 2], 0.5, 5, d)
        empty.append(int(masks[1][0] and masks[2][1]))  # a declines in batch 1, b in batch 2
    assert report.per_draw["vacancies"].tolist() == empty
    assert 0 < sum(empty) < 40
    assert report.schools["fill_probability"].iloc[0] == pytest.approx(1 - sum(empty) / 40)
    assert report.schools["vacancies_scenario"].tolist() == [0]  # listed: b declines in batch 1, a took the seat


def test_rate_zero_is_the_deterministic_run(city):
    none = montecarlo(city, 0, 3, 1, serial=True)  # the drawn declines (none) replace the listed ones
    plain = run(dataclasses.replace(city, declines=city.declines.iloc[0:0]))
    for col in ("vacancies_mean", "vacancies_p5", "vacancies_p95", "vacancies_min", "vacancies_max"):
        assert none.schools[col].tolist() == plain.schools["vacancies"].astype(float).tolist(), col
    assert none.schools["fill_probability"].tolist() == (plain.schools["vacancies"] == 0).astype(float).tolist()
    assert none.per_draw["declined"].tolist() == [0, 0, 0]
    kept = montecarlo(city, 0, 3, 1, keep_declines=True, serial=True)  # the scenario as given, three times
    given = run(city)
    assert kept.schools["vacancies_mean"].tolist() == given.schools["vacancies"].astype(float).tolist()
    assert kept.schools["vacancies_mean"].tolist() == kept.schools["vacancies_scenario"].astype(float).tolist()
    assert kept.summary()["declines"] == "the listed declines kept, the drawn ones added"


def test_rate_one_leaves_every_seat_empty(city):
    report = montecarlo(city, 1, 2, 1, serial=True)
    s = report.schools
    assert (s["vacancies_min"] == s["quota"]).all() and (s["vacancies_max"] == s["quota"]).all()
    assert (s.loc[s["quota"] > 0, "fill_probability"] == 0).all()
    total = report.regions[report.regions["name"] == TOTAL].iloc[0]
    assert total["vocational_mean"] == 0 and total["vocational_per_general_p95"] == 0
    assert report.per_draw["declined"].min() > 0  # every offer declined, in every batch


# Reproducible wherever it runs --------------------------------------------------------------------------------------

def test_same_seed_same_result_serial_and_on_1_and_2_local_workers(city):
    serial = montecarlo(city, 0.05, 6, 9, serial=True)
    seen = []
    one = montecarlo(city, 0.05, 6, 9, workers=1)
    two = montecarlo(city, 0.05, 6, 9, workers=2, progress=lambda what, done, total: seen.append((done, total)))
    assert (serial.scheduler, serial.workers) == ("in-process", 1)
    assert (one.scheduler, one.workers, two.scheduler, two.workers) == ("local", 1, "local", 2)
    assert_reports_equal(serial, one)
    assert_reports_equal(serial, two)
    assert seen[0] == (0, 6) and seen[-1] == (6, 6) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    other = montecarlo(city, 0.05, 6, 10, serial=True)
    assert not other.per_draw.equals(serial.per_draw)  # another seed, other draws
    more = montecarlo(city, 0.05, 8, 9, serial=True)  # the first 6 draws of 8 are the 6 draws
    pd.testing.assert_frame_equal(more.per_draw.head(6), serial.per_draw)


# Files and the command -------------------------------------------------------------------------------------------

def test_write_montecarlo_writes_every_file(tmp_path, city):
    report = montecarlo(city, 0.04, 5, 1, serial=True)
    out = write_montecarlo(report, tmp_path / "mc")
    schools = pd.read_csv(out / "montecarlo_schools.csv", dtype={"school_id": str})
    assert schools["school_id"].tolist() == city.schools["school_id"].tolist()
    for col in ("vacancies_mean", "vacancies_p5", "vacancies_p95", "fill_probability"):
        assert col in schools.columns
    regions = pd.read_csv(out / "montecarlo_regions.csv", keep_default_na=False)
    assert regions["name"].iloc[-1] == TOTAL and len(regions) == len(city.regions) + 1
    for col in ("vocational_per_general_p5", "vocational_per_general_p50", "vocational_per_general_p95",
                "enrollment_rate_p5", "enrollment_rate_p50", "enrollment_rate_p95", "enrollment_target_probability"):
        assert col in regions.columns
    assert len(pd.read_csv(out / "montecarlo_draws.csv")) == 5
    book = openpyxl.load_workbook(out / "montecarlo.xlsx", read_only=True)
    assert book.sheetnames == ["说明", "学校", "地区", "各次模拟"]
    header = [c.value for c in next(book["学校"].iter_rows(max_row=1))]
    assert "学校代码" in header and "招满概率" in header and "空额P95" in header
    header = [c.value for c in next(book["地区"].iter_rows(max_row=1))]
    assert "入学率达95%的概率" in header and "职/普P5" in header
    book.close()
    assert (out / "montecarlo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["params"] == {"decline_rate": 0.04, "draws": 5, "seed": 1, "keep_declines": False}
    assert summary["draws"] == 5 and summary["workers"] == 1 and summary["scheduler"] == "in-process"
    assert summary["seeds"]["seed"] == 1 and "spawn" in summary["seeds"]["per_draw"]
    assert summary["peak_memory_mib"] > 0 and summary["worker_peak_memory_mib"] > 0
    assert set(summary["totals"]) >= {"vacancies", "vocational_per_general", "enrollment_rate"}


def test_montecarlo_command(tmp_path):
    from api.cli import cli

    folder = write_csv_folder(two_batches(), tmp_path / "sc")
    res = CliRunner().invoke(cli, ["montecarlo", str(folder), "--decline-rate", "50%", "--draws", "20", "--seed", "5",
                                   "--serial", "--out", str(tmp_path / "o"), "-q"],
                             env={"ZHAOSHENG_DASK_SCHEDULER": "tcp://127.0.0.1:9"})  # --serial: the setting unused
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert summary["params"]["decline_rate"] == 0.5 and summary["draws"] == 20
    assert summary["scheduler"] == "in-process"
    assert "peak_memory_mib" in summary and (tmp_path / "o" / "montecarlo.png").exists()
    assert "schools least likely to fill" in res.output
