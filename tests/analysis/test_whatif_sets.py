"""A set of what-ifs (issue #16.3): each variant equals the same what-if run alone; the set is the same in this
process and on a LocalCluster of two workers; bad variants are all reported, each under its number, and
nothing runs; the command (--variant, --variants FILE, --set common to all) and its files."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from models import write_scenario
from scenarios import generate
from solver.analysis.whatif import (
    ChangeError,
    VariantError,
    parse_variant,
    read_variants,
    whatif,
    whatif_set,
)

VARIANTS = [["quota.S001=-20%"], ["general_seats.R01=-10%", "quota.S003=150"], ["decline_rate=0.1"]]


@pytest.fixture(scope="module")
def city():
    return generate(1500, regions=3, schools=6, seed=5)


def test_variants_parse(tmp_path):
    assert parse_variant("quota.S03=+10%; decline_rate=0.04") == ["quota.S03=+10%", "decline_rate=0.04"]
    assert parse_variant("quota.S03=520,registered.S04=false") == ["quota.S03=520", "registered.S04=false"]
    with pytest.raises(VariantError):
        parse_variant(" ; ")
    f = tmp_path / "v.txt"
    f.write_text("# what if\nquota.S001=+10%\n\ngeneral_seats.R01=200; quota.S002=-5%  # both\n", encoding="utf-8")
    assert read_variants(f) == [["quota.S001=+10%"], ["general_seats.R01=200", "quota.S002=-5%"]]
    (tmp_path / "empty.txt").write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(VariantError, match="no variant"):
        read_variants(tmp_path / "empty.txt")


def test_each_variant_equals_its_what_if_alone(city):
    report = whatif_set(city, VARIANTS, seed=3, serial=True)
    assert len(report.reports) == 3 and report.scheduler == "in-process"
    for variant, got in zip(VARIANTS, report.reports):
        alone = whatif(city, variant, seed=3)
        for name in ("regions", "schools", "schools_by_batch", "changed"):
            pd.testing.assert_frame_equal(getattr(got, name), getattr(alone, name), obj=f"{variant} {name}")
        pd.testing.assert_frame_equal(got.variant.result.admissions, alone.variant.result.admissions)
        assert [c.as_dict() for c in got.changes] == [c.as_dict() for c in alone.changes]
    table = report.table()
    assert table["variant"].tolist() == [0, 1, 2, 3] and table["changed_students"].iloc[0] == 0
    assert table["changes"].tolist()[1:] == ["quota.S001=-20%", "general_seats.R01=-10%; quota.S003=150",
                                             "decline_rate=0.1"]
    assert (table["changed_students"].iloc[1:] > 0).all()


def test_the_set_is_the_same_on_two_local_workers(city):
    serial = whatif_set(city, VARIANTS, seed=3, serial=True)
    local = whatif_set(city, VARIANTS, seed=3, workers=2)
    assert (local.workers, local.scheduler) == (2, "local")
    pd.testing.assert_frame_equal(serial.table(), local.table())
    for a, b in zip(serial.reports, local.reports):
        pd.testing.assert_frame_equal(a.changed, b.changed)


def test_bad_variants_are_reported_together_and_nothing_runs(city):
    with pytest.raises(ChangeError) as caught:
        whatif_set(city, [["quota.S001=+10%"], ["quota.NOPE=5"], ["quota.S002=-5%", "frobnicate=1"]], serial=True)
    files = sorted({p.file for p in caught.value.problems})
    assert files == ["variant 2", "variant 3"]
    with pytest.raises(ChangeError) as caught:  # a changed scenario that breaks the rules: sub-quotas above the quota
        whatif_set(city, [["quota.S001=+10%"], ["quota.S001=10"]], serial=True)
    assert {p.file for p in caught.value.problems} == {"variant 2"}


def test_the_command_writes_a_set(tmp_path, city):
    from api.cli import cli

    write_scenario(city, tmp_path / "sc")
    variants = tmp_path / "variants.txt"
    variants.write_text("decline_rate=0.1\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["whatif", str(tmp_path / "sc"), "--set", "quota.S005=+10%", "--variant",
                                   "quota.S001=+20%; quota.S002=+5%", "--variants", str(variants), "--serial",
                                   "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "o"
    for part in ("baseline/admissions.csv", "01/variant/admissions.csv", "01/changes.csv", "01/whatif.xlsx",
                 "02/regions_compare.csv", "variants.csv", "summary.json"):
        assert (out / part).exists(), part
    assert not (out / "01" / "baseline").exists()  # the baseline once, at the top
    table = pd.read_csv(out / "variants.csv", keep_default_na=False)
    assert table["changes"].tolist() == ["", "quota.S005=+10%; quota.S001=+20%; quota.S002=+5%",
                                         "quota.S005=+10%; decline_rate=0.1"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [v["folder"] for v in summary["variants"]] == ["01", "02"] and summary["scheduler"] == "in-process"
    bad = CliRunner().invoke(cli, ["whatif", str(tmp_path / "sc"), "--variant", "quota.S001=+1", "--variant",
                                   "quota.NOPE=1", "--serial", "--out", str(tmp_path / "bad"), "-q"])
    assert bad.exit_code == 2 and "variant 2" in bad.output
    assert (tmp_path / "bad" / "errors.csv").exists() and not (tmp_path / "bad" / "variants.csv").exists()
    empty = CliRunner().invoke(cli, ["whatif", str(tmp_path / "sc"), "--variant", ";", "-q"])
    assert empty.exit_code == 2
