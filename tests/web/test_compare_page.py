"""The workbench's 机制比较 page in a real browser (issue #15.3): the form queues a comparison of boston, parallel
and chen-kesten:2 on the hand-made case of tests/analysis/test_compare.py, and the result shows the caveat on
strategic lists, the mechanisms' table (envy 1 under boston, 0 under the others), each pair's gains and
losses, the chart and the server's compare.png; a single mechanism is refused with its problem.  Under CI
(``CI=true``) these tests run, never skip (tests/web/conftest.py)."""

from __future__ import annotations

import json

import pytest

from builders import scenario_dict, school, student
from web_helpers import TIMEOUT, expect, no_errors


@pytest.fixture(scope="module")
def tiny(server):
    data = scenario_dict(students=[student("s", 95, ["B"]), student("p", 90, ["B", "A"]), student("q", 80, ["A"])],
                         schools=[school("A", 1), school("B", 1)], name="mechanisms-tiny")
    r = server.client.post("/scenarios", content=json.dumps(data), headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_a_comparison_shows_its_figures_pairs_chart_and_caveat(signed_in, server, tiny, console_errors, shot):
    page = signed_in
    page.goto(f"{server.url}/#/compare?scenario={tiny}")
    expect(page.get_by_role("heading", name="录取机制比较")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("[data-nav=compare][aria-current=page]")).to_have_text("机制比较")
    expect(page.get_by_label("顺序志愿（boston）")).to_be_checked()
    expect(page.get_by_label("平行志愿（parallel）")).to_be_checked()
    page.get_by_label("分段平行（chen-kesten）").check()
    page.get_by_label("分段平行每段志愿数 e").fill("2")
    page.get_by_role("button", name="开始比较").click()

    expect(page.locator("#compare-chart[data-drawn=true]")).to_be_visible(timeout=120_000)
    expect(page.locator("#compare-verdict")).to_contain_text("已比较 3 种机制")
    expect(page.locator("#compare-caveat")).to_contain_text("策略性")
    expect(page.locator("#compare-caveat")).to_contain_text("机械差异")
    rows = page.locator("#compare-mechanisms tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("boston")
    expect(rows.nth(0)).to_contain_text("66.67%")  # 2 of 3 at their first choice
    expect(rows.nth(2)).to_contain_text("等同于 parallel")  # e = 2 = max_choices
    envy = [rows.nth(i).locator("td").nth(6).inner_text() for i in range(3)]
    assert envy == ["1", "0", "0"]
    pairs = page.locator("#compare-pairs tbody tr")
    expect(pairs).to_have_count(3)
    first = [pairs.nth(0).locator("td").nth(i).inner_text() for i in range(7)]
    assert first == ["boston → parallel", "2", "1", "1", "0", "0", "0"]
    expect(pairs.nth(2)).to_contain_text("parallel → chen-kesten:2")
    expect(page.locator("#compare-png img")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_role("button", name="下载 机制比较 compare.xlsx")).to_be_visible()
    expect(page.get_by_role("button", name="下载 考生变动 moves.csv")).to_be_visible()
    shot("compare")
    no_errors(console_errors)


def test_a_single_mechanism_is_refused_with_its_problem(signed_in, server, tiny, console_errors):
    page = signed_in
    page.goto(f"{server.url}/#/compare?scenario={tiny}")
    expect(page.get_by_role("button", name="开始比较")).to_be_visible(timeout=TIMEOUT)
    page.get_by_label("平行志愿（parallel）").uncheck()
    page.get_by_role("button", name="开始比较").click()
    result = page.locator("#compare-form-result")
    expect(result.get_by_role("alert")).to_contain_text("invalid mechanisms", timeout=TIMEOUT)
    expect(result).to_contain_text("at least two mechanisms")
    expect(result).to_contain_text("body.mechanisms")
    no_errors(console_errors, 422)
