"""The planners' workbench in a real browser (issue #13): one test per flow, each on a page served by the
server with a bearer token, each free of console errors, each leaving a screenshot under its tmp_path.

1 情景: the token is asked once; a bad workbook (the template with a bad score) shows its row in the problems
  table; 2 运行: a good scenario uploaded as a zip runs to the verdict with the progress bar; 3 结果: the
  region table, the chart, the school and student tables paged on the server; 4 为什么: the trace explains a
  rejection; 5 假设分析: a what-if shows the change; 6 比例测算: a sweep's chart and table, 上限: the bound's
  summary, 计划优化: a plan's proven optimum and its quotas before and after; 7 审核: an audit shows a
  violation with its explanation.  The students table sorts on the server (by score, across pages)."""

from __future__ import annotations

import csv
import io
import json
import time

import openpyxl
import pytest

from models import write_scenario
from models.template import write_template
from scenarios import generate

from api_helpers import zip_folder
from builders import contested, envy_scenario, scenario_dict
from web_helpers import TIMEOUT, expect, no_errors


def wait_job(client, path: str, timeout: float = 120) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        body = client.get(path).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"{path} did not end: {body}")


@pytest.fixture(scope="session")
def city(server, tmp_path_factory):
    """A generated city uploaded and run (sequential) through the API: (scenario id, run id, folder)."""
    folder = tmp_path_factory.mktemp("city") / "city"
    write_scenario(generate(1500, regions=3, schools=5, seed=3), folder)
    r = server.client.post("/scenarios", files={"file": ("city.zip", zip_folder(folder), "application/zip")})
    assert r.status_code == 201, r.text
    scenario = r.json()["id"]
    run = server.client.post(f"/scenarios/{scenario}/runs", json={"engine": "sequential"}).json()
    assert wait_job(server.client, f"/runs/{run['id']}")["status"] == "done"
    return scenario, run["id"], folder


def test_the_page_asks_for_the_token_once_and_lists_the_scenarios(page, server, console_errors, shot):
    outside = []
    local = (server.url, "data:", "blob:")
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(local) else None)
    page.goto(server.url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible()
    page.get_by_role("textbox", name="访问令牌").fill("web-test-token")
    page.get_by_role("button", name="确定").click()
    expect(page.get_by_role("cell", name="jiaozuo-2022", exact=True)).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_role("button", name="下载空白模板 (.xlsx)")).to_be_visible()
    page.reload()  # asked once: the token is kept for the session
    expect(page.get_by_role("cell", name="hengyang-2021", exact=True)).to_be_visible(timeout=TIMEOUT)
    expect(dialog).not_to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="下载空白模板 (.xlsx)").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    with open(download.value.path(), "rb") as f:
        assert openpyxl.load_workbook(io.BytesIO(f.read())).sheetnames[:3] == ["说明", "设置", "批次"]
    shot("scenarios")
    assert outside == []  # nothing from outside the server
    no_errors(console_errors)


def test_a_bad_workbook_shows_its_row(signed_in, server, console_errors, shot, tmp_path):
    page = signed_in
    book = tmp_path / "城市.xlsx"
    write_template(book)
    wb = openpyxl.load_workbook(book)
    wb["地区"].append(["R1", "珠晖区", "城区", 10, 1, None])
    wb["学校"].append(["S01", "衡阳市职业中专", "中职", "R1", 2, "是", "否"])
    wb["考生"].append(["0001", "R1", 600, "A", "应届", "是", "是", "S01"])
    wb["考生"].append(["0002", "R1", "八百分", "B", "应届", "是", "是", "S01"])  # row 3: not a score
    wb.save(book)
    page.goto(server.url + "/#/")
    page.get_by_label("情景文件（.xlsx 工作簿、.zip 文件夹或 .json）").set_input_files(str(book))
    page.get_by_role("button", name="上传并校验").click()
    problems = page.locator("section.problems")
    expect(problems).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_role("alert").first).to_contain_text("未通过校验")
    row = problems.locator("tbody tr").filter(has_text="八百分").first
    expect(row).to_be_visible()
    cells = row.locator("td").all_inner_texts()
    assert "考生" in cells[1] and cells[2] == "3", cells  # file (sheet), the row as Excel numbers it
    shot("upload-problems")
    no_errors(console_errors, 422)


def test_a_good_scenario_runs_to_a_verdict_with_the_progress_bar(signed_in, server, console_errors, shot, tmp_path):
    page = signed_in
    folder = tmp_path / "city"
    write_scenario(generate(1200, regions=3, schools=5, seed=5), folder)
    archive = tmp_path / "city.zip"
    archive.write_bytes(zip_folder(folder))
    page.goto(server.url + "/#/")
    page.get_by_label("情景文件（.xlsx 工作簿、.zip 文件夹或 .json）").set_input_files(str(archive))
    page.get_by_role("button", name="上传并校验").click()
    expect(page.locator("#upload-result")).to_contain_text("已上传并通过校验", timeout=TIMEOUT)
    page.get_by_role("link", name="运行此情景").click()
    page.get_by_label("引擎").select_option("both")
    page.get_by_label("求解时限（秒）").fill("60")
    page.get_by_role("button", name="开始运行").click()
    expect(page.locator("#progress progress")).to_be_visible(timeout=TIMEOUT)
    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text("验证通过", timeout=120_000)
    for words in ("相等", "唯一", "规则检查无违规", "用时"):
        expect(verdict).to_contain_text(words)
    assert page.locator("#progress progress").get_attribute("value") == "100"
    expect(page.get_by_role("button", name="下载 录取名册 admissions.xlsx")).to_be_visible()
    shot("run-verdict")
    no_errors(console_errors)


def test_the_results_page_shows_the_region_table_chart_and_paged_tables(signed_in, server, city, console_errors, shot):
    page = signed_in
    _, run, _ = city
    page.goto(f"{server.url}/#/results/{run}")
    expect(page.locator("#region-chart[data-drawn=true]")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("main[data-ready]")).to_have_count(1, timeout=TIMEOUT)
    regions = page.locator("#regions-table tbody tr")
    expect(regions).to_have_count(3)
    expect(page.locator("#regions-table thead")).to_contain_text("普职比")
    expect(page.locator("#region-chart")).to_contain_text("普职比 1 : 1")
    expect(page.locator("#schools-table tbody tr")).to_have_count(5)
    students = page.locator("#students-table")
    expect(students).to_have_attribute("data-total", "1500")
    expect(students.locator(".page-info")).to_contain_text("第 1–20 行，共 1,500 行")
    students.get_by_role("button", name="下一页").click()
    expect(students.locator(".page-info")).to_contain_text("第 21–40 行")
    page.get_by_label("录取结果").select_option("unplaced")
    page.locator("#stu-title + form").get_by_role("button", name="筛选").click()
    expect(students.locator(".page-info")).not_to_contain_text("共 1,500 行")
    expect(students.locator("tbody tr").first).to_contain_text("未录取")
    page.locator("#schools-table thead").get_by_role("button", name="招生计划").click()
    expect(page.locator("#schools-table th[aria-sort=ascending]")).to_have_count(1)
    shot("results")
    no_errors(console_errors)


def test_sorting_the_students_by_score_asks_the_server(signed_in, server, city, console_errors, shot):
    """The column headers sort the whole table on the server, not the page shown: sorted by score
    (descending), page 1 starts with the best student even though the file's order has them later."""
    page = signed_in
    _, run, _ = city
    everyone = server.client.get(f"/runs/{run}/students", params={"limit": 1000}).json()["items"]
    everyone += server.client.get(f"/runs/{run}/students", params={"offset": 1000, "limit": 1000}).json()["items"]
    best = max(everyone, key=lambda s: (s["score"], s["student_id"]))
    assert [s["student_id"] for s in everyone].index(best["student_id"]) >= 20  # not on the first page unsorted
    page.goto(f"{server.url}/#/results/{run}")
    students = page.locator("#students-table")
    expect(students).to_have_attribute("data-total", "1500", timeout=TIMEOUT)
    expect(students.locator("tbody tr").first).not_to_contain_text(best["student_id"])
    header = students.get_by_role("button", name="中考成绩")
    header.click()
    expect(students).to_have_attribute("data-sort", "score")
    header = students.get_by_role("button", name="中考成绩")
    header.click()
    expect(students).to_have_attribute("data-sort", "-score")
    expect(students.locator("th[aria-sort=descending]")).to_contain_text("中考成绩")
    expect(students.locator("tbody tr").first).to_contain_text(best["student_id"])
    expect(students.locator(".page-info")).to_contain_text("第 1–20 行，共 1,500 行")
    expect(students.get_by_role("button", name="中考成绩")).to_be_focused()  # keyboard users stay on the header
    students.get_by_role("button", name="下一页").click()
    expect(students.locator(".page-info")).to_contain_text("第 21–40 行")
    second = [float(x) for x in students.locator("tbody tr td:nth-child(2)").all_inner_texts()]
    assert second == sorted(second, reverse=True) and max(second) <= best["score"]
    shot("results-sorted")
    no_errors(console_errors)


def test_the_trace_explains_a_rejection(signed_in, server, city, console_errors, shot):
    page = signed_in
    _, run, _ = city
    unplaced = server.client.get(f"/runs/{run}/students", params={"outcome": "unplaced", "limit": 50}).json()["items"]
    student = next(s["student_id"] for s in unplaced if any(
        step["kind"] == "school_full" for step in
        server.client.get(f"/runs/{run}/trace", params={"student": s["student_id"]}).json()["steps"]))
    page.goto(f"{server.url}/#/why?run={run}&student={student}")
    full = page.locator("li[data-kind=school_full]").first
    expect(full).to_be_visible(timeout=TIMEOUT)
    expect(full).to_contain_text("学校已满")
    expect(full).to_contain_text("R7")
    expect(page.locator("#trace")).to_contain_text("未录取")
    shot("why")
    page.get_by_label("考生号").fill("no-such-student")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#trace")).to_contain_text("找不到考生")
    no_errors(console_errors, 404)


def test_a_whatif_shows_the_change(signed_in, server, city, console_errors, shot):
    page = signed_in
    scenario, run, _ = city
    schools = server.client.get(f"/runs/{run}/schools").json()["items"]
    busy = max(schools, key=lambda s: s["confirmed"])
    page.goto(f"{server.url}/#/whatif?scenario={scenario}")
    page.get_by_label("调整项").select_option("quota")
    page.get_by_label("学校 / 地区").fill(busy["name"])
    page.get_by_label("新值").fill("-50%")
    page.get_by_role("button", name="开始分析").click()
    expect(page.locator("#whatif-verdict")).to_be_visible(timeout=120_000)
    expect(page.locator("#whatif-regions td.changed").first).to_be_visible()
    expect(page.locator("#whatif-schools")).to_contain_text(busy["school_id"])
    expect(page.locator("#whatif-students")).to_contain_text("名考生结果变化")
    expect(page.locator("#whatif-students tbody tr").first).to_be_visible()
    shot("whatif")
    no_errors(console_errors)


def test_the_bound_shows_its_summary(signed_in, server, city, console_errors, shot):
    page = signed_in
    scenario, _, _ = city
    page.goto(f"{server.url}/#/analysis?scenario={scenario}")
    expect(page.get_by_text("计划优化（plan-quotas）")).to_be_visible(timeout=TIMEOUT)
    page.get_by_role("button", name="计算录取上限").click()
    expect(page.get_by_role("heading", name="概要")).to_be_visible(timeout=120_000)
    expect(page.get_by_role("button", name="下载 上限报告 bound.xlsx")).to_be_visible()
    shot("bound")
    no_errors(console_errors)


def test_a_sweep_draws_its_chart_and_table(signed_in, server, city, console_errors, shot):
    page = signed_in
    scenario, _, _ = city
    page.goto(f"{server.url}/#/analysis?scenario={scenario}")
    page.get_by_label("普高占比 起").fill("0.40")
    page.get_by_label("止").fill("0.50")
    page.get_by_label("步长").fill("0.05")
    page.get_by_role("button", name="开始测算").click()
    expect(page.locator("#sweep-chart[data-drawn=true]")).to_be_visible(timeout=120_000)
    expect(page.locator("#sweep-chart")).to_contain_text("普高占比与中职占比、入学率")
    expect(page.locator("#sweep-table tbody tr")).to_have_count(3)  # 0.40, 0.45, 0.50
    expect(page.locator("#sweep-table")).to_contain_text("0.45")
    expect(page.get_by_role("button", name="下载 测算 sweep.csv")).to_be_visible()
    shot("sweep")
    no_errors(console_errors)


def test_a_quota_plan_shows_the_optimum_and_the_quotas_before_and_after(signed_in, server, console_errors, shot):
    """计划优化 on the contested case (tests/analysis/test_plan.py): first-choice, total 6, -50%..+50%: the
    proven optimum 4 with A raised from 2 to 3, and the re-run equal to the prediction."""
    page = signed_in
    r = server.client.post("/scenarios", content=json.dumps(contested()), headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text
    scenario = r.json()["id"]
    page.goto(f"{server.url}/#/plan?scenario={scenario}")
    page.get_by_label("优化目标").select_option("first-choice")
    page.get_by_label("计划总数").fill("6")
    page.get_by_label("每校最少（相对现行计划）").fill("-50%")
    page.get_by_label("每校最多（相对现行计划）").fill("+50%")
    page.get_by_label("求解时限（秒）").fill("10")
    page.get_by_role("button", name="开始优化").click()
    verdict = page.locator("#plan-verdict")
    expect(verdict).to_contain_text("已证明最优", timeout=120_000)
    expect(page.locator("#plan-facts dd[data-status=OPTIMAL]")).to_be_visible()
    expect(page.locator("#plan-facts")).to_contain_text("第一批次第一志愿")
    expect(page.locator("#plan-rerun")).to_contain_text("与预测一致")
    rows = page.locator("#plan-quotas tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_class("changed")
    expect(rows.nth(0)).to_contain_text("+1")
    expect(page.get_by_role("button", name="下载 计划方案 plan.xlsx")).to_be_visible()
    shot("plan")
    no_errors(console_errors)


def test_an_audit_shows_a_violation_with_its_explanation(signed_in, server, console_errors, shot, tmp_path):
    page = signed_in
    r = server.client.post("/scenarios", content=json.dumps(scenario_dict(**envy_scenario())),
                           headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text
    scenario = r.json()["id"]
    run = server.client.post(f"/scenarios/{scenario}/runs", json={"engine": "sequential"}).json()
    assert wait_job(server.client, f"/runs/{run['id']}")["status"] == "done"
    admissions = server.client.get(f"/runs/{run['id']}/admissions.csv").text.lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(admissions)))
    a = next(x for x in rows if x["student_id"] == "A")
    b = next(x for x in rows if x["student_id"] == "B")
    b.update(outcome="vocational", school_id="S03", batch="1", choice_rank="2", admit_date=a["admit_date"],
             confirm_date=a["confirm_date"])  # B takes A's seat at S03: A is wronged (R6)
    a.update(outcome="unplaced", school_id="", batch="", choice_rank="", admit_date="", confirm_date="")
    published = tmp_path / "published.csv"
    with open(published, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    page.goto(f"{server.url}/#/audit?scenario={scenario}")
    page.get_by_label("公布的录取结果（admissions.csv 或 .xlsx）").set_input_files(str(published))
    page.get_by_role("button", name="开始审核").click()
    verdict = page.locator("#audit-verdict")
    expect(verdict).to_contain_text("发现违规", timeout=TIMEOUT)
    group = page.locator(".rule-group[data-rule=R6]")
    expect(group).to_contain_text("R6 顺序录取")
    expect(group.locator("tbody")).to_contain_text("A")
    explanation = page.locator("#explanations li[data-rule=R6]").first
    expect(explanation).to_contain_text("student A (score 512, 1st choice S03) was rejected at S03 while student B")
    expect(page.get_by_role("button", name="下载 审核报告 audit.xlsx")).to_be_visible()
    shot("audit")
    no_errors(console_errors)
