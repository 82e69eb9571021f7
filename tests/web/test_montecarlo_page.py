"""The workbench's 空额模拟 page in a real browser (issue #16.3): the form queues a Monte Carlo of declines on the
bundled jiaozuo-2022 with 6 draws, the progress is followed to the results, and the schools' table shows
exactly the figures of the job's montecarlo_schools.csv (sorted by mean vacancies, counts with thousands
separators, probabilities as percentages), the regions' table those of montecarlo_regions.csv, with the
chart, the server's montecarlo.png and the files; a rate of 150% is refused in the page, in Chinese, and
nothing is queued.  Under CI (``CI=true``) these tests run, never skip (tests/web/conftest.py)."""

from __future__ import annotations

import csv
import io
import re

from web_helpers import TIMEOUT, expect, no_errors

SCENARIO = "jiaozuo-2022"  # 11 schools, 7 regions: a draw takes a few hundredths of a second


def count(v: str) -> str:
    """app.js count(): a whole number with thousands separators (zh-CN)."""
    return f"{int(float(v)):,}"


def dec(v: str) -> str:
    """app.js dec(): thousands separators, at most two decimals, no trailing zeros."""
    return f"{float(v):,.2f}".rstrip("0").rstrip(".")


def pct(v: str) -> str:
    return f"{float(v) * 100:.2f}%"


def ratio(v: str) -> str:
    return f"1 : {float(v):.2f}"


def csv_rows(server, path: str) -> list[dict]:
    r = server.client.get(path)
    assert r.status_code == 200, r.text
    return list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))


def shown(rows) -> list[list[str]]:
    n = rows.count()
    return [[c.strip() for c in rows.nth(i).locator("td").all_inner_texts()] for i in range(n)]


def test_a_monte_carlo_shows_the_files_figures(signed_in, server, console_errors, shot):
    page = signed_in
    page.goto(f"{server.url}/#/montecarlo?scenario={SCENARIO}")
    expect(page.get_by_role("heading", name="空额模拟（放弃录取的蒙特卡洛模拟）")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("[data-nav=montecarlo][aria-current=page]")).to_have_text("空额模拟")
    expect(page.locator("main")).to_contain_text("最后一批录取结束后每所学校可能还剩多少空额")
    expect(page.get_by_label("放弃率（每名考生每批次）")).to_have_value("4%")
    expect(page.get_by_label("抽样次数")).to_have_value("200")
    expect(page.get_by_label("随机种子")).to_have_value("1")
    expect(page.get_by_label("保留情景已有的放弃名单")).not_to_be_checked()
    page.get_by_label("抽样次数").fill("6")
    page.get_by_role("button", name="开始模拟").click()

    expect(page.locator("#montecarlo-chart[data-drawn=true]")).to_be_visible(timeout=120_000)
    analysis = re.search(r"#/montecarlo/([\w-]+)$", page.url).group(1)
    job = server.client.get(f"/montecarlo/{analysis}").json()
    assert job["status"] == "done" and job["params"] == {"decline_rate": 0.04, "draws": 6, "seed": 1,
                                                         "keep_declines": False}, job
    expect(page.locator("#montecarlo-verdict")).to_contain_text("已模拟 6 次")
    expect(page.locator("#montecarlo-verdict")).to_contain_text("放弃率 4.00%")
    expect(page.locator("#montecarlo-verdict")).to_contain_text("随机种子 1")
    vacancies = job["summary"]["totals"]["vacancies"]
    expect(page.locator("#montecarlo-totals")).to_contain_text(f"均值 {dec(vacancies['mean'])}")

    # the schools: montecarlo_schools.csv, most vacancies on average first
    headers = page.locator("#montecarlo-schools thead th").all_inner_texts()
    for label in ("学校名称", "招生计划", "空额均值", "空额 P5", "空额 P95", "招满概率"):
        assert any(label in th for th in headers), (label, headers)
    schools = csv_rows(server, job["files"]["montecarlo_schools.csv"])
    schools.sort(key=lambda r: (-float(r["vacancies_mean"]), r["school_id"]))
    want = [[r["school_id"], r["name"], r["region_id"], count(r["quota"]), count(r["vacancies_scenario"]),
             dec(r["vacancies_mean"]), dec(r["vacancies_p5"]), dec(r["vacancies_p95"]), count(r["vacancies_min"]),
             count(r["vacancies_max"]), pct(r["fill_probability"]), dec(r["declined_mean"])] for r in schools]
    rows = page.locator("#montecarlo-schools tbody tr")
    expect(rows).to_have_count(len(schools))
    assert shown(rows) == want
    assert any("," in row[3] for row in want)  # thousands separators really checked (quota 2,530)
    # sortable like the other tables: 空额均值 ascending puts the fewest first
    page.locator("#montecarlo-schools th").filter(has_text="空额均值").get_by_role("button").click()
    expect(page.locator("#montecarlo-schools th[aria-sort=ascending]")).to_contain_text("空额均值")
    assert rows.first.locator("td").nth(5).inner_text() == min((row[5] for row in want), key=lambda t: float(
        t.replace(",", "")))

    # the regions: montecarlo_regions.csv (GET /montecarlo/{id}'s regions), the 普职比 and 入学率 bands
    regions = csv_rows(server, job["files"]["montecarlo_regions.csv"])
    assert [r["name"] for r in regions] == [r["name"] for r in job["regions"]]
    want = [[r["region_id"], r["name"], count(r["graduates"]), dec(r["vocational_mean"]), dec(r["unplaced_mean"]),
             ratio(r["vocational_per_general_p5"]), r["general_vocational_ratio"],
             ratio(r["vocational_per_general_p95"]),
             pct(r["enrollment_rate_p5"]), pct(r["enrollment_rate_p50"]), pct(r["enrollment_rate_p95"]),
             pct(r["enrollment_target_probability"])] for r in regions]
    got = shown(page.locator("#montecarlo-regions tbody tr"))
    assert [row[:8] + [row[8].split(" ")[0]] + row[9:] for row in got] == want  # 入学率 P5 carries ✓ or <95%
    expect(page.locator("#montecarlo-regions tr.total")).to_contain_text("合计")
    expect(page.locator("#montecarlo-regions thead")).to_contain_text("普职比中位数")
    expect(page.locator("#montecarlo-regions thead")).to_contain_text("入学率达 95% 的概率")

    expect(page.locator("#montecarlo-png img")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_role("button", name="下载 各校空额 montecarlo_schools.csv")).to_be_visible()
    expect(page.get_by_role("button", name="下载 空额模拟 montecarlo.xlsx")).to_be_visible()
    expect(page.get_by_role("button", name="取消模拟")).to_have_count(0)
    shot("montecarlo")
    no_errors(console_errors)


def test_a_bad_rate_is_refused_in_chinese_and_nothing_is_queued(signed_in, server, console_errors, shot):
    page = signed_in
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    before = server.client.get("/health").json()
    page.goto(f"{server.url}/#/montecarlo?scenario={SCENARIO}")
    expect(page.get_by_role("button", name="开始模拟")).to_be_visible(timeout=TIMEOUT)
    page.get_by_label("放弃率（每名考生每批次）").fill("150%")
    page.get_by_label("抽样次数").fill("0")
    page.get_by_role("button", name="开始模拟").click()
    errors = page.locator("#montecarlo-form-result").get_by_role("alert")
    expect(errors).to_contain_text("放弃率应在 0 到 100% 之间")
    expect(errors).to_contain_text("150%")
    expect(errors).to_contain_text("抽样次数应为 1 到 10,000 之间的整数")
    expect(page.get_by_label("放弃率（每名考生每批次）")).to_have_attribute("aria-invalid", "true")
    page.wait_for_timeout(300)
    assert posts == [] and page.url.endswith(f"#/montecarlo?scenario={SCENARIO}")
    after = server.client.get("/health").json()
    active = ("analyses_queued", "analyses_running")
    assert sum(after[k] for k in active) <= sum(before[k] for k in active)
    shot("montecarlo-refused", full_page=False)
    no_errors(console_errors)


def test_a_cancelled_monte_carlo_says_so_and_shows_no_result(signed_in, server, console_errors):
    """The job page's cancel button (app.js followAnalysis, shared with 计划优化 and 机制比较): the job ends
    failed and cancelled, the page says 模拟失败 …（已取消） in a red box, and no result table is drawn."""
    page = signed_in
    job = server.client.post(f"/scenarios/{SCENARIO}/montecarlo", json={"draws": 10_000}).json()
    page.goto(f"{server.url}/#/montecarlo/{job['id']}")
    expect(page.get_by_role("heading", name="空额模拟结果")).to_be_visible(timeout=TIMEOUT)
    page.get_by_role("button", name="取消模拟").click()
    verdict = page.locator("#montecarlo-verdict")
    expect(verdict).to_contain_text("模拟失败：", timeout=TIMEOUT)
    expect(verdict).to_contain_text("（已取消）")
    expect(verdict).to_have_class(re.compile(r"\bbad\b"))
    ended = server.client.get(f"/montecarlo/{job['id']}").json()
    assert ended["status"] == "failed" and ended["cancelled"] is True, ended
    expect(page.locator("#montecarlo-schools")).to_have_count(0)
    expect(page.get_by_role("button", name="取消模拟")).to_have_count(0)
    no_errors(console_errors)
