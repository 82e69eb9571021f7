/* 招生工作台 (issue #13): plain JavaScript on the service's own API.  No framework, nothing from outside:
   plotly.js is served by our server from the installed plotly package (/static/plotly.min.js). */
"use strict";

// ---------------------------------------------------------------------------------------------------------
// words

const OUTCOMES = { general: "普通高中", vocational: "中职录取", unplaced: "未录取", ineligible: "不符合条件 (R1)",
                   none: "未填报志愿" };
const RULES = { R1: "资格", R2: "备案目录", R3: "志愿", R4: "普高优先", R5: "批次", R6: "顺序录取", R7: "招生计划",
                R8: "分地区计划", R9: "确认", R10: "不重复录取", R11: "录取时间", R12: "录取结果" };
const ENGINES = { sequential: "顺序规则引擎", cpsat: "CP-SAT 约束模型", both: "两种引擎（验证）" };
const STATUS = { queued: "排队中", running: "运行中", done: "已完成", failed: "失败", clean: "无违规",
                 violations: "有违规" };
const PHASES = {
  "starting": "启动", "loading the scenario": "读取情景", "sequential engine": "顺序规则引擎",
  "building the CP-SAT model": "建立 CP-SAT 模型", "building the model": "建立模型", "solving": "求解",
  "proving uniqueness": "证明唯一性", "checking both results (R1-R12)": "规则检查 (R1–R12)",
  "writing results": "写出结果文件", "storing the tables": "保存结果表", "applying the changes": "应用调整",
  "running the baseline": "运行基准", "running the variant": "运行调整方案", "comparing": "比较", "compared": "已比较",
  "sweeping": "测算", "running the rules and the maximum flow": "规则录取与最大流", "done": "完成",
  "sequential run with the current quotas": "按现行计划录取（基准）", "warm start: the outcome of a feasible quota vector": "热启动",
  "sequential re-run with the new quotas": "按新计划复算", "writing the plan": "写出方案",
  "draws": "抽样模拟",
};
const PLAN_PHASES = ["starting", "loading the scenario", "building the model", "sequential run with the current quotas",
                     "warm start: the outcome of a feasible quota vector", "solving", "sequential re-run with the new quotas",
                     "writing the plan"];
const OBJECTIVES = { placed: "中职录取人数最多", "first-choice": "第一批次第一志愿录取人数最多", ratio: "各地区普职比最接近目标" };
const SOLVE_STATUS = { OPTIMAL: "已证明最优", FEASIBLE: "可行方案（未证明最优）", INFEASIBLE: "无可行方案", UNKNOWN: "时限内未找到方案",
                       MODEL_INVALID: "模型无效" };
const PHASE_ORDER = ["starting", "loading the scenario", "sequential engine", "building the CP-SAT model", "solving",
                     "proving uniqueness", "checking both results (R1-R12)", "writing results", "storing the tables"];
const KINDS = { urban: "城区", county: "县（市）", vocational: "中职", technical: "技工" };
const REGION_COLUMNS = [
  ["region_id", "地区代码"], ["name", "地区名称"], ["kind", "类型", (v) => KINDS[v] || v],
  ["graduates", "初中应届毕业生", count], ["general", "普高录取", count], ["vocational", "中职录取", count],
  ["unplaced", "未录取", count], ["ineligible", "不符合条件", count], ["none", "未填报志愿", count],
  ["general_vocational_ratio", "普职比"], ["vocational_share", "中职占比", pct], ["enrollment_rate", "高中阶段入学率", pct],
];
const SCHOOL_COLUMNS = [
  ["school_id", "学校代码"], ["name", "学校名称"], ["kind", "类别", (v) => KINDS[v] || v], ["region_id", "所在地"],
  ["quota", "招生计划", count], ["applicants", "报考人次", count], ["offers", "预录", count],
  ["confirmed", "确认录取", count], ["declined", "放弃", count], ["vacancies", "空额", count], ["fill_rate", "完成率", pct],
];
const STUDENT_COLUMNS = [
  ["student_id", "考生号"], ["score", "中考成绩"], ["region_id", "学籍所在地"], ["outcome", "录取结果", (v) => OUTCOMES[v] || v],
  ["school_id", "录取学校"], ["batch", "批次"], ["choice_rank", "志愿序号"], ["admit_date", "录取日期"],
  ["confirm_date", "确认日期"],
];
const FILE_LABELS = {
  "admissions.csv": "录取结果 admissions.csv", "admissions.xlsx": "录取名册 admissions.xlsx", "offers.csv": "预录 offers.csv",
  "schools.csv": "学校 schools.csv", "subquotas.csv": "分配计划 subquotas.csv", "regions.csv": "地区 regions.csv",
  "progress.xlsx": "进度表 progress.xlsx", "summary.json": "概要 summary.json", "warnings.csv": "提示 warnings.csv",
  "violations.csv": "违规 violations.csv", "differences.csv": "差异 differences.csv", "errors.csv": "错误 errors.csv",
  "explanations.csv": "违规解释 explanations.csv", "audit.xlsx": "审核报告 audit.xlsx", "whatif.xlsx": "假设分析 whatif.xlsx",
  "changes.csv": "考生变化 changes.csv", "regions_compare.csv": "地区对比", "schools_compare.csv": "学校对比",
  "schools_by_batch_compare.csv": "学校分批次对比", "sweep.csv": "测算 sweep.csv", "sweep.png": "图 sweep.png",
  "sweep.html": "交互图 sweep.html", "bound_schools.csv": "学校上限 bound_schools.csv", "flows.csv": "流向 flows.csv",
  "bound.xlsx": "上限报告 bound.xlsx", "quotas.csv": "新计划 quotas.csv", "plan.xlsx": "计划方案 plan.xlsx",
  "mechanisms.csv": "各机制 mechanisms.csv", "regions_by_mechanism.csv": "各地区 regions_by_mechanism.csv",
  "schools_by_mechanism.csv": "各学校 schools_by_mechanism.csv", "moves.csv": "考生变动 moves.csv",
  "pairs.csv": "两两比较 pairs.csv", "compare.xlsx": "机制比较 compare.xlsx", "compare.png": "图 compare.png",
  "compare.html": "交互图 compare.html",
  "montecarlo_schools.csv": "各校空额 montecarlo_schools.csv", "montecarlo_regions.csv": "各地区 montecarlo_regions.csv",
  "montecarlo_draws.csv": "各次模拟 montecarlo_draws.csv", "montecarlo.xlsx": "空额模拟 montecarlo.xlsx",
  "montecarlo.png": "图 montecarlo.png",
};

// ---------------------------------------------------------------------------------------------------------
// small helpers

function count(v) { return v === null || v === undefined || v === "" ? "" : Number(v).toLocaleString("zh-CN"); }
function pct(v) { return v === null || v === undefined || v === "" ? "" : (Number(v) * 100).toFixed(2) + "%"; }
function secs(v) { return v === null || v === undefined ? "" : Number(v).toFixed(v < 10 ? 2 : 1) + " 秒"; }
function when(v) { return v ? new Date(v).toLocaleString("zh-CN", { hour12: false }) : ""; }

/** An element: h("td", {class: "num"}, "12"); children may be strings, nodes, arrays, null. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "html") el.innerHTML = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

let uid = 0;
function field(label, control) {
  const id = control.id || (control.id = "f" + (++uid));
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}
function select(name, options, value) {
  return h("select", { name }, options.map(([v, t]) => h("option", { value: v, selected: String(v) === String(value) }, t)));
}
function main() { return document.getElementById("main"); }
/** Replace an element's children; null, undefined and false (a part left out) are skipped, arrays flattened. */
function put(el, ...nodes) {
  el.replaceChildren(...nodes.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}
function show(...nodes) { return put(main(), ...nodes); }
function alertBox(text) { return h("div", { class: "alert", role: "alert" }, text); }
function params() {
  const q = location.hash.split("?")[1] || "";
  return Object.fromEntries(new URLSearchParams(q));
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------------
// the API, with the token asked for once

const TOKEN_KEY = "zhaosheng.token";
function token() { return sessionStorage.getItem(TOKEN_KEY) || localStorage.getItem(TOKEN_KEY) || ""; }
let asking = null;
function askToken(wrong) {
  if (asking) return asking;
  const dialog = document.getElementById("token-dialog");
  document.getElementById("token-error").textContent = wrong ? "令牌不正确，请重新输入。" : "";
  asking = new Promise((resolve) => {
    const form = document.getElementById("token-form");
    form.onsubmit = (ev) => {
      ev.preventDefault();
      const value = document.getElementById("token-input").value.trim();
      if (!value) return;
      sessionStorage.setItem(TOKEN_KEY, value);
      if (document.getElementById("token-remember").checked) localStorage.setItem(TOKEN_KEY, value);
      dialog.close();
      asking = null;
      resolve(value);
    };
    dialog.addEventListener("cancel", (ev) => ev.preventDefault());
    dialog.showModal();
    document.getElementById("token-input").focus();
  });
  return asking;
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

/** fetch with the bearer token; a 401 asks for the token and tries again. */
async function raw(path, options = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = new Headers(options.headers || {});
    const t = token();
    if (t) headers.set("Authorization", "Bearer " + t);
    const response = await fetch(path, { ...options, headers });
    if (response.status !== 401 || attempt > 5) return response;
    sessionStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(TOKEN_KEY);
    await askToken(Boolean(t));
  }
}

async function api(path, options = {}) {
  if (options.json !== undefined) {
    options = { ...options, method: options.method || "POST", body: JSON.stringify(options.json),
                headers: { "content-type": "application/json" } };
  }
  const response = await raw(path, options);
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, typeof body === "object" ? body : { detail: body });
  return body;
}

async function text(path) {
  const response = await raw(path);
  if (!response.ok) throw new ApiError(response.status, { detail: await response.text() });
  return (await response.text()).replace(/^\ufeff/, "");
}

/** A file of the API saved by the browser (fetched with the token, then handed over as a blob). */
async function download(path, name) {
  const response = await raw(path);
  if (!response.ok) throw new ApiError(response.status, { detail: await response.text() });
  const url = URL.createObjectURL(await response.blob());
  const a = h("a", { href: url, download: name || path.split("/").pop() });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function fileList(files) {
  const names = Object.keys(files || {});
  if (!names.length) return h("p", { class: "muted" }, "没有文件。");
  return h("ul", { class: "files" }, names.map((name) => h("li", {},
    h("button", { type: "button", class: "secondary", "data-file": name,
                  onclick: () => download(files[name], name.replace("/", "-")).catch(report) },
      "下载 " + (FILE_LABELS[name.split("/").pop()] || name) + (name.includes("/") ? `（${name.split("/")[0] === "baseline" ? "基准" : "调整后"}）` : "")))));
}

/** RFC 4180 CSV (quoted fields, doubled quotes, newlines inside quotes) into arrays of objects. */
function parseCsv(src) {
  const rows = [];
  let row = [], cell = "", quoted = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (quoted) {
      if (c === '"') { if (src[i + 1] === '"') { cell += '"'; i++; } else quoted = false; } else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && src[i + 1] === "\n") i++;
      row.push(cell); rows.push(row); row = []; cell = "";
    } else cell += c;
  }
  if (cell !== "" || row.length) { row.push(cell); rows.push(row); }
  const [header, ...rest] = rows;
  return (rest || []).filter((r) => r.length > 1 || r[0] !== "").map((r) => Object.fromEntries(header.map((k, i) => [k, r[i] ?? ""])));
}
function toCsv(rows, columns) {
  const q = (v) => { const s = v === null || v === undefined ? "" : String(v); return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
  return "\ufeff" + [columns.map(([, label]) => q(label)).join(","),
    ...rows.map((r) => columns.map(([k]) => q(r[k])).join(","))].join("\r\n") + "\r\n";
}

/** A table of rows with columns [key, label, format?]; numbers right-aligned; optional sorting of the rows shown,
    or, with `server` ({key, desc, keys, onSort}), headers that ask the server for the table sorted by that column. */
function table(rows, columns, { caption, sortable = false, rowClass, cell, server } = {}) {
  const tbody = h("tbody");
  let sortKey = null, sortDir = 1;
  const numeric = (k) => rows.some((r) => typeof r[k] === "number");
  const fill = () => {
    let shown = rows;
    if (sortKey) {
      shown = [...rows].sort((a, b) => {
        const x = a[sortKey], y = b[sortKey];
        if (x === y) return 0;
        if (x === null || x === undefined || x === "") return 1;
        if (y === null || y === undefined || y === "") return -1;
        return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), "zh-CN")) * sortDir;
      });
    }
    tbody.replaceChildren(...shown.map((r) => h("tr", { class: rowClass ? rowClass(r) : null },
      columns.map(([k, , fmt]) => {
        const custom = cell && cell(r, k);
        if (custom) return custom;
        const v = r[k];
        return h("td", { class: typeof v === "number" || fmt === count || fmt === pct ? "num" : null }, fmt ? fmt(v, r) : (v ?? ""));
      }))));
    if (!shown.length) tbody.append(h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, "没有数据。")));
  };
  const head = h("tr", {}, columns.map(([k, label]) => {
    if (server) {
      if (!server.keys.includes(k)) return h("th", { scope: "col", class: numeric(k) ? "num" : null }, label);
      const mine = server.key === k;
      return h("th", { scope: "col", class: numeric(k) ? "num" : null,
                       "aria-sort": mine ? (server.desc ? "descending" : "ascending") : "none" },
        h("button", { type: "button", class: "sort", "data-sort": k, title: "按此列排序（全部数据，再点一次反向）",
                      onclick: () => server.onSort(k) }, label));
    }
    const th = h("th", { scope: "col", class: numeric(k) ? "num" : null }, sortable ? null : label);
    if (sortable) {
      th.setAttribute("aria-sort", "none");
      th.append(h("button", { type: "button", class: "sort", title: "按此列排序（本页）", onclick: () => {
        sortDir = sortKey === k ? -sortDir : 1;
        sortKey = k;
        for (const other of head.children) other.setAttribute("aria-sort", "none");
        th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
        fill();
      } }, label));
    }
    return th;
  }));
  fill();
  return h("div", { class: "table-wrap" }, h("table", {}, caption ? h("caption", { class: "sr-only" }, caption) : null,
    h("thead", {}, head), tbody));
}

function problemsTable(problems, total) {
  const columns = [["file", "文件"], ["row", "行"], ["column", "列"], ["value", "值"], ["clause", "规则"], ["message", "说明"]];
  const rows = problems.map((p) => ({ ...p, severity: p.severity === "warning" ? "提示" : "错误" }));
  return h("section", { class: "problems", "aria-label": "问题列表" },
    h("h3", {}, `问题列表（${(total || problems.length).toLocaleString("zh-CN")} 个${total > problems.length ? `，列出前 ${problems.length} 个` : ""}）`),
    h("p", { class: "muted" }, "行号与 Excel 中的行号一致；最先列出的是根本原因。"),
    h("p", {}, h("button", { type: "button", class: "secondary", onclick: () => {
      const blob = new Blob([toCsv(rows, [["severity", "级别"], ...columns])], { type: "text/csv" });
      const url = URL.createObjectURL(blob);
      const a = h("a", { href: url, download: "errors.csv" });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } }, "下载 errors.csv")),
    table(rows, [["severity", "级别"], ...columns], { caption: "问题列表" }));
}

function report(err) {
  console.warn(err);
  const box = alertBox(err instanceof ApiError ? `${err.message}（HTTP ${err.status}）` : String(err.message || err));
  main().prepend(box);
  box.scrollIntoView({ block: "nearest" });
}

/** The progress of a job: a bar (the fraction when the worker gives one, else the phase's place). */
function progressBox(order = PHASE_ORDER) {
  const bar = h("progress", { max: 100, value: 0, "aria-label": "进度" });
  const label = h("p", { class: "muted", role: "status", "aria-live": "polite" }, "排队中…");
  return {
    el: h("div", { class: "card", id: "progress" }, label, bar),
    update(job) {
      const p = job.progress || {};
      let value = 0;
      if (job.status === "done") value = 100;
      else if (p.fraction !== null && p.fraction !== undefined) value = Math.round(p.fraction * 100);
      else if (p.phase) value = Math.round(100 * (order.indexOf(p.phase.startsWith("solution ") ? "solving" : p.phase) + 1) / (order.length + 1));
      bar.value = Math.max(value, job.status === "running" ? 3 : 0);
      const found = p.phase && p.phase.match(/^solution ([\d,.-]+), bound ([\d,.-]+) \((\d+) s\)$/);
      const running = p.phase && p.phase.match(/^running (boston|parallel|chen-kesten:\d+)$/);
      const phase = found ? `求解：已找到方案，目标值 ${found[1]}，上界 ${found[2]}（${found[3]} 秒）` :
        running ? `按 ${running[1]} 录取` :
        p.phase === "draws" && p.total ? `抽样模拟：已完成 ${count(p.done)} / ${count(p.total)} 次` :
        p.phase ? (PHASES[p.phase] || p.phase) : "";
      const queue = job.status === "queued" && job.queue_position ? `，队列第 ${job.queue_position} 位` : "";
      label.textContent = `${STATUS[job.status] || job.status}${queue}${phase ? "：" + phase : ""}` +
        (p.detail ? `（${p.detail}）` : "") + (job.elapsed_seconds ? ` · 已用 ${secs(job.elapsed_seconds)}` : "");
    },
  };
}

async function follow(path, box, isEnded) {
  for (;;) {
    const job = await api(path);
    box.update(job);
    if (isEnded(job)) return job;
    await sleep(job.status === "queued" ? 1000 : 400);
  }
}

/** An analysis job's page while it runs: the title, the progress bar and a cancel button; when it ends, a
 * failed job's reason (and files) in a red box.  Returns the finished job (null if it failed) and the element
 * its results go in. */
async function followAnalysis(kind, id, phases, { title, cancel: cancelText, failed }) {
  const box = progressBox(phases);
  const out = h("div");
  const cancel = h("button", { type: "button", class: "danger", onclick: async () => {
    try { await api(`/${kind}/${id}/cancel`, { method: "POST" }); } catch (err) { report(err); }
  } }, cancelText);
  show(h("h2", {}, title), box.el, h("p", {}, cancel), out);
  const job = await follow(`/${kind}/${id}`, box, (j) => j.status === "done" || j.status === "failed");
  cancel.remove();
  if (job.status === "failed") {
    put(out, h("div", { class: "verdict bad", role: "alert", id: `${kind}-verdict` }, failed + (job.reason || "") +
      (job.cancelled ? "（已取消）" : "")), fileList(job.files));
    return { job: null, out };
  }
  return { job, out };
}

let plotly = null;
function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!plotly) {
    plotly = new Promise((resolve, reject) => {
      const s = h("script", { src: "/static/plotly.min.js" });
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => reject(new Error("图表脚本加载失败"));
      document.head.append(s);
    });
  }
  return plotly;
}
const FONT = { family: getComputedStyle(document.documentElement).fontFamily, size: 13 };

async function chart(el, traces, layout) {
  const Plotly = await loadPlotly();
  await Plotly.newPlot(el, traces, {
    font: FONT, margin: { t: 40, r: 20, b: 60, l: 60 }, legend: { orientation: "h", y: -0.2 }, ...layout,
  }, { displaylogo: false, responsive: true, locale: "zh-CN" });
  el.setAttribute("data-drawn", "true");
}

async function scenarioOptions(selected) {
  const page = await api("/scenarios?limit=1000");
  return page.items.map((s) => [s.id, `${s.title && !s.bundled ? s.title : s.name}${s.bundled ? "（内置）" : "（上传 " + when(s.created_at) + "）"}`]);
}

let names = null;
/** The scenario's name (a bundled one's, or an upload's name and title) instead of its id. */
async function scenarioName(id) {
  if (!names || !names[id]) {
    names = Object.fromEntries((await api("/scenarios?limit=1000")).items.map((s) => [s.id, s.title && !s.bundled ? s.title : s.name]));
  }
  return names[id] || id;
}

async function lastDoneRun(scenarioId) {
  const runs = await api(`/scenarios/${encodeURIComponent(scenarioId)}/runs?status=done&limit=1`);
  return runs.items[0] || null;
}

// ---------------------------------------------------------------------------------------------------------
// 情景 Scenarios

async function viewScenarios() {
  const list = h("div", {}, h("p", { class: "muted" }, "正在读取情景…"));
  const result = h("div", { id: "upload-result" });
  const file = h("input", { type: "file", name: "file", accept: ".xlsx,.zip,.json", required: true });
  const form = h("form", { class: "inline", id: "upload-form" },
    field("情景文件（.xlsx 工作簿、.zip 文件夹或 .json）", file),
    h("button", { type: "submit" }, "上传并校验"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!file.files.length) return;
    const data = new FormData();
    data.append("file", file.files[0]);
    put(result, h("p", { role: "status" }, "正在上传并校验…"));
    try {
      const s = await api("/scenarios", { method: "POST", body: data });
      put(result, h("div", { class: "verdict ok", role: "status" }, `情景 “${s.name}” 已上传并通过校验：`,
        `${count(s.info?.counts?.students)} 名考生、${count(s.info?.counts?.schools)} 所学校。`,
        " ", h("a", { href: `#/run?scenario=${s.id}` }, "运行此情景")));
      await fill();
    } catch (err) {
      if (err instanceof ApiError && err.body.problems) {
        put(result, h("div", { class: "verdict bad", role: "alert" }, "情景未通过校验，未保存：" + err.message),
          problemsTable(err.body.problems, err.body.problems_total));
      } else put(result, alertBox(err.message));
    }
  });
  const fill = async () => {
    const page = await api("/scenarios?limit=1000");
    put(list, table(page.items, [
      ["name", "名称"], ["title", "标题"], ["format", "来源", (v) => ({ bundled: "内置", folder: "文件夹 (zip)", xlsx: "工作簿", json: "JSON" })[v] || v],
      ["students", "考生数"], ["created_at", "上传时间", when], ["actions", "操作"],
    ], { caption: "情景列表", cell: (s, k) => {
      if (k === "students") return h("td", { class: "num" }, count(s.info?.counts?.students) || "—");
      if (k === "title") return h("td", {}, s.title || s.filename || "");
      if (k !== "actions") return null;
      return h("td", {}, h("a", { class: "button", href: `#/run?scenario=${encodeURIComponent(s.id)}` }, "运行"), " ",
        h("a", { class: "button secondary", href: `#/whatif?scenario=${encodeURIComponent(s.id)}` }, "假设分析"), " ",
        h("a", { class: "button secondary", href: `#/audit?scenario=${encodeURIComponent(s.id)}` }, "审核"), " ",
        s.bundled ? null : h("button", { type: "button", class: "danger", onclick: async () => {
          if (!confirm(`删除情景 “${s.name}” 及其全部运行、分析和审核？`)) return;
          try { await api(`/scenarios/${s.id}`, { method: "DELETE" }); await fill(); } catch (err) { report(err); }
        } }, "删除"));
    } }));
  };
  show(h("h2", {}, "情景"),
    h("section", { class: "card", "aria-labelledby": "up-title" }, h("h3", { id: "up-title" }, "上传情景"),
      h("p", {}, "先下载模板，在 Excel 中填写各表（表头为中文，“说明”表逐列解释），再上传。上传后立即校验，所有问题一次列出。"),
      h("p", {}, h("button", { type: "button", class: "secondary", id: "template-button",
                               onclick: () => download("/template.xlsx", "情景模板.xlsx").catch(report) }, "下载空白模板 (.xlsx)")),
      form, result),
    h("section", { "aria-labelledby": "list-title" }, h("h3", { id: "list-title" }, "全部情景"), list));
  await fill();
}

// ---------------------------------------------------------------------------------------------------------
// 运行 Run

function verdictOf(run) {
  const v = run.verification;
  const t = run.timings || {};
  if (run.status === "failed") {
    return h("div", { class: "verdict bad", role: "alert", id: "verdict" }, "运行失败：", run.reason || "原因不明",
      run.cancelled ? "（已取消）" : "");
  }
  if (!v) {
    return h("div", { class: "verdict ok", id: "verdict" }, `运行完成（${ENGINES[run.engine]}），用时 ${secs(run.elapsed_seconds)}。`);
  }
  const checker = v.checker_violations || {};
  const clean = Object.values(checker).every((n) => !n);
  const good = v.equal && v.unique && clean;
  const times = v.times || {};
  return h("div", { class: "verdict " + (good ? "ok" : "bad"), id: "verdict", role: "status" },
    good ? "验证通过：两种引擎结果相等、解唯一、规则检查无违规。" : "验证未通过。",
    h("ul", {},
      h("li", {}, v.equal ? "相等：顺序规则引擎与 CP-SAT 约束模型的录取结果逐人一致" : `不相等：两种引擎有 ${count(v.differences)} 名考生的结果不同`),
      h("li", {}, v.unique ? "唯一：已证明规则只有这一个录取结果" : `未证明唯一（${v.status?.proof || "未完成"}）`),
      h("li", {}, clean ? "规则检查无违规（R1–R12）" : `规则检查发现违规：顺序引擎 ${checker.sequential ?? "?"} 条，CP-SAT ${checker.cpsat ?? "?"} 条`),
      h("li", { class: "muted" }, `用时：读取 ${secs(t.load)}，顺序引擎 ${secs(times.sequential)}，建模 ${secs(times.build)}，` +
        `求解 ${secs(times.solve)}，证明 ${secs(times.proof)}，检查 ${secs(times.checker)}；共 ${secs(run.elapsed_seconds)}`)));
}

async function viewRunForm() {
  const q = params();
  const options = await scenarioOptions(q.scenario);
  const scenario = select("scenario", options, q.scenario || options[0]?.[0]);
  const engine = select("engine", Object.entries(ENGINES), "both");
  const limit = h("input", { type: "number", name: "time_limit", min: 1, step: 1, value: 600 });
  const form = h("form", { class: "inline", id: "run-form" }, field("情景", scenario), field("引擎", engine),
    field("求解时限（秒）", limit), h("button", { type: "submit" }, "开始运行"));
  const recent = h("div");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const run = await api(`/scenarios/${encodeURIComponent(scenario.value)}/runs`,
        { json: { engine: engine.value, time_limit: Number(limit.value) || undefined } });
      location.hash = `#/runs/${run.id}`;
    } catch (err) { report(err); }
  });
  const fillRecent = async () => {
    const runs = await api(`/scenarios/${encodeURIComponent(scenario.value)}/runs?limit=10`);
    put(recent, table(runs.items, [["created_at", "开始", when], ["engine", "引擎", (v) => ENGINES[v]],
      ["status", "状态", (v) => STATUS[v] || v], ["elapsed_seconds", "用时", secs], ["id", "查看"]],
    { caption: "最近的运行", cell: (r, k) => k === "id" ? h("td", {}, h("a", { href: `#/runs/${r.id}` }, "进度"), " ",
      r.status === "done" ? h("a", { href: `#/results/${r.id}` }, "结果") : null) : null }));
  };
  scenario.addEventListener("change", () => fillRecent().catch(report));
  show(h("h2", {}, "运行"), h("section", { class: "card" }, form,
    h("p", { class: "muted" }, "两种引擎：先按规则顺序录取，再由 CP-SAT 独立求解并证明结果唯一，最后由独立的检查程序逐条核对规则。")),
  h("h3", {}, "最近的运行"), recent);
  await fillRecent();
}

async function viewRun(id) {
  const box = progressBox();
  const out = h("div");
  const cancel = h("button", { type: "button", class: "danger", onclick: async () => {
    try { await api(`/runs/${id}/cancel`, { method: "POST" }); } catch (err) { report(err); }
  } }, "取消运行");
  show(h("h2", {}, "运行进度"), box.el, h("p", {}, cancel), out);
  const run = await follow(`/runs/${id}`, box, (r) => r.status === "done" || r.status === "failed");
  cancel.remove();
  put(out, verdictOf(run),
    run.problems?.length ? problemsTable(run.problems) : null,
    run.status === "done" ? h("p", {}, h("a", { class: "button", href: `#/results/${id}`, id: "to-results" }, "查看结果")) : null,
    h("h3", {}, "文件"), fileList(run.files));
}

// ---------------------------------------------------------------------------------------------------------
// 结果 Results

function pager(state, total, onChange) {
  const from = total ? state.offset + 1 : 0, to = Math.min(state.offset + state.limit, total);
  const size = select("limit", [[20, "每页 20 行"], [50, "每页 50 行"], [100, "每页 100 行"]], state.limit);
  size.setAttribute("aria-label", "每页行数");
  size.addEventListener("change", () => { state.limit = Number(size.value); state.offset = 0; onChange(); });
  return h("div", { class: "pager" },
    h("button", { type: "button", class: "secondary", disabled: state.offset === 0, "aria-label": "上一页",
                  onclick: () => { state.offset = Math.max(0, state.offset - state.limit); onChange(); } }, "‹ 上一页"),
    h("span", { class: "page-info", role: "status" }, `第 ${from.toLocaleString("zh-CN")}–${to.toLocaleString("zh-CN")} 行，共 ${total.toLocaleString("zh-CN")} 行`),
    h("button", { type: "button", class: "secondary", disabled: to >= total, "aria-label": "下一页",
                  onclick: () => { state.offset += state.limit; onChange(); } }, "下一页 ›"),
    size);
}

/** A table paged and sorted on the server: `path` answers {total, items} (sort=column&order=asc|desc); filters
    are the query; `sortKeys` the columns the server sorts by (all shown columns when not given). */
function pagedTable({ path, columns, filters, caption, id, cell, columnsOf, sortKeys }) {
  const state = { offset: 0, limit: 20, sort: null, desc: false };
  const wrap = h("div", { id });
  const load = async () => {
    const q = new URLSearchParams({ offset: state.offset, limit: state.limit });
    if (state.sort) { q.set("sort", state.sort); q.set("order", state.desc ? "desc" : "asc"); }
    for (const [k, v] of Object.entries(filters())) if (v) q.set(k, v);
    wrap.setAttribute("aria-busy", "true");
    const page = await api(`${path}?${q}`);
    const cols = columnsOf ? columnsOf(page.items) : columns;
    const refocus = document.activeElement && wrap.contains(document.activeElement) ? document.activeElement.dataset.sort : null;
    const server = { key: state.sort, desc: state.desc, keys: sortKeys || cols.map(([k]) => k), onSort: (k) => {
      state.desc = state.sort === k ? !state.desc : false;
      state.sort = k;
      state.offset = 0;
      load().catch(report);
    } };
    put(wrap, table(page.items, cols, { caption, cell, server }), pager(state, page.total, () => load().catch(report)));
    if (refocus) wrap.querySelector(`button[data-sort="${refocus}"]`)?.focus();
    wrap.setAttribute("aria-busy", "false");
    wrap.setAttribute("data-total", page.total);
    wrap.setAttribute("data-sort", state.sort ? (state.desc ? "-" : "") + state.sort : "");
  };
  return { el: wrap, load, reset: () => { state.offset = 0; return load(); } };
}

function regionCell(r, k) {
  if (k === "vocational_share") {
    const ok = r.vocational_share !== null && Math.abs(r.vocational_share - 0.5) <= 0.05;
    return h("td", { class: "num " + (ok ? "ok-cell" : "bad-cell") }, pct(r.vocational_share), ok ? " ✓" : " ≠1:1");
  }
  if (k === "enrollment_rate") {
    const ok = r.enrollment_rate >= 0.95;
    return h("td", { class: "num " + (ok ? "ok-cell" : "bad-cell") }, pct(r.enrollment_rate), ok ? " ✓" : " <95%");
  }
  return null;
}

async function regionChart(el, rows) {
  const names = rows.map((r) => r.name || r.region_id);
  await chart(el, [
    { type: "bar", name: "中职占比", x: names, y: rows.map((r) => r.vocational_share), marker: { color: "#1d5fa8" },
      hovertemplate: "%{x}<br>中职占比 %{y:.1%}<extra></extra>" },
    { type: "bar", name: "高中阶段入学率", x: names, y: rows.map((r) => r.enrollment_rate), marker: { color: "#7fb2e5" },
      hovertemplate: "%{x}<br>入学率 %{y:.1%}<extra></extra>" },
  ], {
    title: { text: "各地区中职占比与高中阶段入学率" }, barmode: "group", yaxis: { tickformat: ".0%", range: [0, 1.05] },
    shapes: [
      { type: "line", xref: "paper", x0: 0, x1: 1, y0: 0.5, y1: 0.5, line: { color: "#b42318", dash: "dash" } },
      { type: "line", xref: "paper", x0: 0, x1: 1, y0: 0.95, y1: 0.95, line: { color: "#1a7f37", dash: "dot" } },
    ],
    annotations: [
      { xref: "paper", x: 1, y: 0.5, text: "普职比 1 : 1", showarrow: false, xanchor: "right", yanchor: "bottom", font: { color: "#b42318" } },
      { xref: "paper", x: 1, y: 0.95, text: "入学率 95%", showarrow: false, xanchor: "right", yanchor: "bottom", font: { color: "#1a7f37" } },
    ],
  });
}

async function viewResultsPick() {
  const runs = await api("/runs?status=done&limit=50");
  show(h("h2", {}, "结果"), runs.items.length ? h("p", {}, "选择一次已完成的运行：") : h("p", {}, "还没有已完成的运行。", h("a", { href: "#/run" }, "去运行")),
    table(await Promise.all(runs.items.map(async (r) => ({ ...r, scenario: await scenarioName(r.scenario_id) }))),
      [["created_at", "时间", when], ["scenario", "情景"], ["engine", "引擎", (v) => ENGINES[v]], ["id", "查看"]],
      { caption: "已完成的运行", cell: (r, k) => k === "id" ? h("td", {}, h("a", { href: `#/results/${r.id}` }, "查看结果")) : null }));
}

async function viewResults(id) {
  const started = performance.now();
  const run = await api(`/runs/${id}`);
  if (run.status !== "done") { location.hash = `#/runs/${id}`; return; }
  const regions = await api(`/runs/${id}/regions?limit=1000`);
  const chartEl = h("div", { class: "chart", id: "region-chart", role: "img", "aria-label": "各地区中职占比与入学率图" });
  const regionOpts = [["", "全部地区"], ...regions.items.map((r) => [r.region_id, `${r.name}（${r.region_id}）`])];

  const schoolRegion = select("region", regionOpts, "");
  const schoolId = h("input", { type: "text", name: "school", placeholder: "如 S001" });
  const schools = pagedTable({ path: `/runs/${id}/schools`, id: "schools-table", caption: "学校表",
    filters: () => ({ region: schoolRegion.value, school: schoolId.value.trim() }),
    columnsOf: (items) => {
      const cut = Object.keys(items[0] || {}).filter((k) => /^cutoff_b\d+_r\d+$/.test(k)).map((k) => {
        const [, b, r] = k.match(/b(\d+)_r(\d+)/);
        return [k, `第${b}批第${r}志愿最低分`, (v) => v === null || v === undefined ? "" : Number(v).toLocaleString("zh-CN")];
      });
      return [...SCHOOL_COLUMNS, ...cut];
    } });
  const studentRegion = select("region", regionOpts, "");
  const studentOutcome = select("outcome", [["", "全部结果"], ...Object.entries(OUTCOMES)], "");
  const studentSchool = h("input", { type: "text", name: "school", placeholder: "学校代码" });
  const studentId = h("input", { type: "text", name: "student", placeholder: "考生号" });
  const students = pagedTable({ path: `/runs/${id}/students`, id: "students-table", caption: "考生录取表",
    filters: () => ({ region: studentRegion.value, outcome: studentOutcome.value, school: studentSchool.value.trim(),
                      student: studentId.value.trim() }),
    columns: [...STUDENT_COLUMNS, ["why", "为什么"]], sortKeys: STUDENT_COLUMNS.map(([k]) => k),
    cell: (r, k) => k === "why" ? h("td", {}, h("a", { href: `#/why?run=${id}&student=${encodeURIComponent(r.student_id)}` }, "查看原因")) : null });
  const filterForm = (fields, paged) => {
    const f = h("form", { class: "toolbar" }, fields, h("button", { type: "submit" }, "筛选"));
    f.addEventListener("submit", (ev) => { ev.preventDefault(); paged.reset().catch(report); });
    return f;
  };

  show(h("h2", {}, `结果：${await scenarioName(run.scenario_id)}`),
    h("p", { class: "muted" }, `${ENGINES[run.engine]} · 完成于 ${when(run.finished_at)} · `, h("a", { href: `#/runs/${id}` }, "运行详情与验证结论")),
    h("section", { "aria-labelledby": "reg-title" }, h("h3", { id: "reg-title" }, "各地区：普职比与入学率"),
      h("p", { class: "muted" }, "中职占比 45%–55% 视为普职比大体 1 : 1（焦作 §一）；高中阶段入学率不低于 95%（衡阳 §六.三）。"),
      h("div", { id: "regions-table" }, table(regions.items, REGION_COLUMNS, { caption: "地区表", sortable: true, cell: regionCell })),
      chartEl),
    h("section", { "aria-labelledby": "sch-title" }, h("h3", { id: "sch-title" }, "各学校"),
      filterForm([field("所在地区", schoolRegion), field("学校代码", schoolId)], schools), schools.el),
    h("section", { "aria-labelledby": "stu-title" }, h("h3", { id: "stu-title" }, "考生"),
      filterForm([field("学籍所在地", studentRegion), field("录取结果", studentOutcome), field("录取学校", studentSchool),
        field("考生号", studentId)], students), students.el),
    h("section", {}, h("h3", {}, "结果文件"), fileList(run.files)));
  await Promise.all([schools.load(), students.load(), regionChart(chartEl, regions.items)]);
  main().setAttribute("data-ready", String(Math.round(performance.now() - started)));
}

// ---------------------------------------------------------------------------------------------------------
// 为什么 Why

async function viewWhy() {
  const q = params();
  const runs = await api("/runs?status=done&limit=100");
  const runNames = await Promise.all(runs.items.map((r) => scenarioName(r.scenario_id)));
  const options = [...runs.items.map((r, i) => [`run:${r.id}`, `运行 ${when(r.created_at)} · ${runNames[i]}`]),
    ...(await scenarioOptions()).map(([v, t]) => [`scenario:${v}`, `情景 ${t}（按规则）`])];
  const basis = select("basis", options, q.run ? `run:${q.run}` : q.scenario ? `scenario:${q.scenario}` : options[0]?.[0]);
  const student = h("input", { type: "text", name: "student", required: true, value: q.student || "", placeholder: "考生号" });
  const out = h("div", { id: "trace" });
  const form = h("form", { class: "inline", id: "why-form" }, field("依据", basis), field("考生号", student),
    h("button", { type: "submit" }, "查询"));
  const ask = async () => {
    const [kind, id] = basis.value.split(/:(.*)/s);
    put(out, h("p", { role: "status" }, "正在查询（情景首次查询需读取并录取一次，可能需要几秒）…"));
    try {
      const t = await api(`/${kind === "run" ? "runs" : "scenarios"}/${encodeURIComponent(id)}/trace?student=${encodeURIComponent(student.value.trim())}`);
      put(out, traceView(t));
    } catch (err) {
      put(out, alertBox(err.status === 404 ? `找不到考生 ${student.value}。` : err.message));
    }
  };
  form.addEventListener("submit", (ev) => { ev.preventDefault(); ask(); });
  show(h("h2", {}, "为什么：考生的录取过程"),
    h("p", { class: "muted" }, "逐批次、逐轮次列出该考生的每个志愿：是否录取，未录取的原因（学校或地区名额已满、该轮最低录取分、取得最后一个名额的考生；无效志愿及其规则）。"),
    h("section", { class: "card" }, form), out);
  if (q.student) await ask();
}

function traceView(t) {
  const head = h("dl", { class: "facts" },
    h("dt", {}, "考生号"), h("dd", {}, t.student_id), h("dt", {}, "学籍所在地"), h("dd", {}, `${t.region_name}（${t.region_id}）`),
    h("dt", {}, "中考成绩"), h("dd", {}, String(t.score)), h("dt", {}, "综合素质评价"), h("dd", {}, t.evaluation),
    h("dt", {}, "最终结果"), h("dd", { class: t.outcome === "unplaced" ? "bad" : "ok" },
      t.outcome_zh + (t.school_name ? `：${t.school_name}（${t.school_id}），第${t.batch}批第${t.choice_rank}志愿` : "")));
  const steps = h("ol", { class: "steps" }, t.steps.map((s) => h("li", { "data-kind": s.kind, "data-rule": s.rule },
    h("span", { class: "badge" }, `${s.rule} ${RULES[s.rule] || ""}`), " ",
    h("span", { class: s.admitted ? "step-admitted" : s.admitted === false ? "step-rejected" : "" }, s.zh),
    s.cutoff !== null && s.kind !== "general_not_reached" && s.kind !== "general" ? h("span", { class: "muted" }, ` · 本轮最低录取分 ${s.cutoff}`) : null)));
  return h("section", { class: "card", "aria-label": "录取过程" }, h("h3", {}, `考生 ${t.student_id} 的录取过程`), head,
    t.consistent ? null : alertBox("注意：该结果在某一步与规则不符。"), steps);
}

// ---------------------------------------------------------------------------------------------------------
// 假设分析 What-if

const CHANGE_KINDS = [["quota", "学校招生计划"], ["subquota", "分配计划（学校·地区）"], ["general_seats", "地区普高计划"],
  ["general_cutoff", "地区普高控制线"], ["registered", "学校是否备案"], ["decline_rate", "放弃率"]];

async function viewWhatif() {
  const q = params();
  const options = await scenarioOptions();
  const scenario = select("scenario", options, q.scenario || options[0]?.[0]);
  const schoolNames = h("datalist", { id: "school-names" });
  const regionNames = h("datalist", { id: "region-names" });
  const rows = h("div", { id: "change-rows" });
  const seed = h("input", { type: "number", name: "seed", min: 0, value: 0 });
  const loadNames = async () => {
    const run = await lastDoneRun(scenario.value).catch(() => null);
    if (!run) { put(schoolNames); put(regionNames); return; }
    const [s, r] = await Promise.all([api(`/runs/${run.id}/schools?limit=1000`), api(`/runs/${run.id}/regions?limit=1000`)]);
    put(schoolNames, ...s.items.map((x) => h("option", { value: x.name }, `${x.school_id} 计划 ${x.quota}`)));
    put(regionNames, ...r.items.map((x) => h("option", { value: x.name }, x.region_id)));
  };
  const addRow = () => {
    const kind = select("kind", CHANGE_KINDS, "quota");
    const target = h("input", { type: "text", name: "target", list: "school-names", placeholder: "学校名称或代码" });
    const region = h("input", { type: "text", name: "region", list: "region-names", placeholder: "地区名称或代码" });
    const value = h("input", { type: "text", name: "value", placeholder: "如 +10%、520、+20", required: true });
    const regionField = field("地区", region);
    const targetField = field("学校 / 地区", target);
    const sync = () => {
      const k = kind.value;
      regionField.hidden = k !== "subquota";
      targetField.hidden = k === "decline_rate";
      target.setAttribute("list", k === "general_seats" || k === "general_cutoff" ? "region-names" : "school-names");
      value.placeholder = k === "registered" ? "true 或 false" : k === "decline_rate" ? "如 4% 或 0.04" : k === "subquota" ? "如 300 或 none" : "如 +10%、520、+20";
    };
    kind.addEventListener("change", sync);
    const row = h("div", { class: "change-row" }, field("调整项", kind), targetField, regionField, field("新值", value),
      h("button", { type: "button", class: "secondary", "aria-label": "删除此项", onclick: () => row.remove() }, "删除"));
    row.read = () => {
      const k = kind.value;
      const key = k === "decline_rate" ? k : k === "subquota" ? `${k}.${target.value.trim()}.${region.value.trim()}` : `${k}.${target.value.trim()}`;
      return `${key}=${value.value.trim()}`;
    };
    sync();
    rows.append(row);
  };
  addRow();
  const out = h("div", { id: "whatif-result" });
  const form = h("form", { id: "whatif-form" }, field("情景", scenario), h("h3", {}, "调整"), rows,
    h("p", {}, h("button", { type: "button", class: "secondary", onclick: addRow }, "添加一项调整")),
    h("div", { class: "toolbar" }, field("随机种子（放弃率）", seed), h("button", { type: "submit" }, "开始分析")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const changes = [...rows.children].map((r) => r.read());
    put(out);
    try {
      const job = await api(`/scenarios/${encodeURIComponent(scenario.value)}/whatif`, { json: { changes, seed: Number(seed.value) || 0 } });
      location.hash = `#/whatif/${job.id}`;
    } catch (err) {
      put(out, alertBox(err.message), err.body?.problems?.length ? problemsTable(err.body.problems) : null);
    }
  });
  scenario.addEventListener("change", () => loadNames().catch(report));
  show(h("h2", {}, "假设分析"), h("p", { class: "muted" },
    "调整招生计划、分配计划、普高计划或控制线、放弃率，比较基准与调整后的结果。学校可按名称选择（名单来自该情景最近一次运行）。"),
  h("section", { class: "card" }, form, schoolNames, regionNames), out);
  await loadNames().catch(() => null);
}

async function viewWhatifJob(id) {
  const box = progressBox();
  const out = h("div");
  show(h("h2", {}, "假设分析结果"), box.el, out);
  const job = await follow(`/whatif/${id}`, box, (j) => j.status === "done" || j.status === "failed");
  if (job.status === "failed") {
    put(out, h("div", { class: "verdict bad", role: "alert" }, "分析失败：" + (job.reason || "")),
      job.problems?.length ? problemsTable(job.problems) : null, fileList(job.files));
    return;
  }
  const changes = job.params?.changes || [];
  const list = Array.isArray(changes) ? changes : Object.entries(changes).map(([k, v]) => `${k}=${v}`);
  const regionRows = (job.regions || []);
  const cols = regionRows.length ? Object.keys(regionRows[0]) : [];
  const zh = { region_id: "地区代码", name: "地区名称", general: "普高录取", vocational: "中职录取", unplaced: "未录取",
               general_vocational_ratio: "普职比", enrollment_rate: "入学率", vocational_share: "中职占比" };
  const label = (c) => {
    const m = c.match(/^(.*)_(baseline|variant|change)$/);
    if (!m) return zh[c] || c;
    return `${zh[m[1]] || m[1]}（${{ baseline: "基准", variant: "调整后", change: "变化" }[m[2]]}）`;
  };
  const num = (v) => v !== "" && v !== null && !isNaN(Number(v));
  const fmt = (c) => (v) => /rate|share/.test(c) && num(v) ? pct(v) : num(v) ? Number(v).toLocaleString("zh-CN") : (v ?? "");
  const changedCell = (r, k) => {
    if (!/_change$/.test(k) && !/_variant$/.test(k)) return null;
    const changeKey = k.replace(/_variant$/, "_change");
    const c = r[changeKey];
    const changed = c !== undefined && c !== "" && c !== null && Number(c) !== 0 && !(typeof c === "string" && /^[+-]?0(\.0+)?%?$/.test(c));
    return h("td", { class: (num(r[k]) ? "num " : "") + (changed ? "changed" : "") }, fmt(k)(r[k]));
  };
  const schoolsBox = h("div", { id: "whatif-schools" }, h("p", { class: "muted" }, "正在读取…"));
  const studentsBox = h("div", { id: "whatif-students" }, h("p", { class: "muted" }, "正在读取…"));
  const s = job.summary || {};
  put(out, 
    h("div", { class: "verdict ok", role: "status", id: "whatif-verdict" }, `分析完成：${list.join("；")}`,
      s.changed_students !== undefined ? `，${count(s.changed_students)} 名考生结果变化` : ""),
    h("h3", {}, "各地区：基准与调整后"), h("p", { class: "muted" }, "有变化的单元格以黄色标出。"),
    h("div", { id: "whatif-regions" }, table(regionRows, cols.map((c) => [c, label(c), fmt(c)]), { caption: "地区对比", cell: changedCell })),
    h("h3", {}, "有变化的学校"), schoolsBox, h("h3", {}, "结果变化的考生（前 200 名）"), studentsBox,
    h("h3", {}, "文件"), fileList(job.files));
  try {
    const rows = parseCsv(await text(`/whatif/${id}/schools_compare.csv`));
    const changed = rows.filter((r) => Object.entries(r).some(([k, v]) => /_change$/.test(k) && v !== "" && Number(v) !== 0));
    const c = rows.length ? Object.keys(rows[0]) : [];
    const zhs = { school_id: "学校代码", name: "学校名称", quota: "招生计划", confirmed: "确认录取", vacancies: "空额", fill_rate: "完成率" };
    const lab = (x) => { const m = x.match(/^(.*)_(baseline|variant|change)$/); return m ? `${zhs[m[1]] || m[1]}（${{ baseline: "基准", variant: "调整后", change: "变化" }[m[2]]}）` : zhs[x] || x; };
    put(schoolsBox, changed.length ? table(changed, c.map((x) => [x, lab(x), fmt(x)]), { caption: "学校对比", cell: changedCell, sortable: true })
      : h("p", {}, "没有学校的结果变化。"));
    const students = parseCsv(await text(`/whatif/${id}/changes.csv`));
    const kinds = { placed: "新录取", lost: "失去录取", moved: "改录他校", reordered: "志愿序号变化", other: "其他" };
    const sc = students.length ? Object.keys(students[0]) : ["student_id"];
    put(studentsBox, h("p", {}, `共 ${students.length.toLocaleString("zh-CN")} 名考生结果变化。`),
      table(students.slice(0, 200), sc.map((x) => [x, { student_id: "考生号", region_id: "学籍所在地", kind: "变化类型" }[x] || x,
        x === "kind" ? (v) => kinds[v] || v : /outcome/.test(x) ? (v) => OUTCOMES[v] || v : null]), { caption: "考生变化", sortable: true }));
  } catch (err) { report(err); }
}

// ---------------------------------------------------------------------------------------------------------
// 比例测算 Sweep, 上限 Bound

async function viewAnalysis() {
  const q = params();
  const options = await scenarioOptions();
  const scenario = select("scenario", options, q.scenario || options[0]?.[0]);
  const start = h("input", { type: "number", name: "start", min: 0, max: 1, step: 0.01, value: 0.4 });
  const stop = h("input", { type: "number", name: "stop", min: 0, max: 1, step: 0.01, value: 0.6 });
  const step = h("input", { type: "number", name: "step", min: 0.005, max: 1, step: 0.005, value: 0.05 });
  const sweep = h("form", { class: "inline", id: "sweep-form" }, field("普高占比 起", start), field("止", stop), field("步长", step),
    h("button", { type: "submit" }, "开始测算"));
  sweep.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const job = await api(`/scenarios/${encodeURIComponent(scenario.value)}/sweep`,
        { json: { general_share: `${start.value}:${stop.value}:${step.value}` } });
      location.hash = `#/sweep/${job.id}`;
    } catch (err) { report(err); }
  });
  const bound = h("form", { class: "inline", id: "bound-form" }, h("button", { type: "submit" }, "计算录取上限"));
  bound.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const job = await api(`/scenarios/${encodeURIComponent(scenario.value)}/bound`, { json: {} });
      location.hash = `#/bound/${job.id}`;
    } catch (err) { report(err); }
  });
  show(h("h2", {}, "比例测算与录取上限"), h("section", { class: "card" }, field("情景", scenario)),
    h("section", { class: "card" }, h("h3", {}, "比例测算"),
      h("p", { class: "muted" }, "每一步把各地区普高计划设为毕业生数的该占比，按规则录取，画出中职占比与未录取人数。"), sweep),
    h("section", { class: "card" }, h("h3", {}, "录取上限"),
      h("p", { class: "muted" }, "在现有计划和分配计划下，按考生所填志愿最多能录取多少人（最大流），与规则录取人数比较。"), bound),
    h("p", { class: "note" }, "计划优化（plan-quotas）：在 ", h("a", { href: `#/plan?scenario=${encodeURIComponent(scenario.value)}` }, "计划优化"),
      " 页选择目标与计划总数，由 CP-SAT 在规则约束下调整各校招生计划。"));
}

// ---------------------------------------------------------------------------------------------------------
// 计划优化 Quota planning

async function viewPlanForm() {
  const q = params();
  const options = await scenarioOptions();
  const scenario = select("scenario", options, q.scenario || options[0]?.[0]);
  const objective = select("objective", Object.entries(OBJECTIVES), "placed");
  const total = h("input", { type: "number", name: "total", min: 0, step: 1, placeholder: "默认：现行计划合计" });
  const minChange = h("input", { type: "text", name: "min_change", value: "-20%", size: 6, pattern: "[+\\-]?[0-9.]+%?" });
  const maxChange = h("input", { type: "text", name: "max_change", value: "+20%", size: 6, pattern: "[+\\-]?[0-9.]+%?" });
  const share = h("input", { type: "number", name: "target_share", min: 0, max: 1, step: 0.01, placeholder: "默认 1 : 1" });
  const limit = h("input", { type: "number", name: "time_limit", min: 1, step: 1, value: 120 });
  const out = h("div", { id: "plan-form-result" });
  const form = h("form", { class: "inline", id: "plan-form" }, field("情景", scenario), field("优化目标", objective),
    field("计划总数", total), field("每校最少（相对现行计划）", minChange), field("每校最多（相对现行计划）", maxChange),
    field("目标中职占比（仅普职比目标）", share), field("求解时限（秒）", limit), h("button", { type: "submit" }, "开始优化"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { objective: objective.value, min_change: minChange.value.trim(), max_change: maxChange.value.trim(),
                   time_limit: Number(limit.value) || undefined };
    if (total.value !== "") body.total = Number(total.value);
    if (share.value !== "" && objective.value === "ratio") body.target_share = Number(share.value);
    try {
      const job = await api(`/scenarios/${encodeURIComponent(scenario.value)}/plan`, { json: body });
      location.hash = `#/plan/${job.id}`;
    } catch (err) {
      put(out, alertBox(err.message), err.body?.problems?.length ? problemsTable(err.body.problems) : null);
    }
  });
  show(h("h2", {}, "计划优化"), h("p", { class: "muted" },
    "在各校招生计划的上下限和计划总数之内，由 CP-SAT 选出使目标最优的各校计划；规则 R1–R12 全部作为约束。" +
    "求得的方案再由顺序规则引擎按新计划复算，核对与预测是否一致。"),
  h("section", { class: "card" }, form), out);
}

async function viewPlan(id) {
  const { job, out } = await followAnalysis("plan", id, PLAN_PHASES,
    { title: "计划优化结果", cancel: "取消优化", failed: "优化失败：" });
  if (!job) return;
  const s = job.summary || {};
  const found = s.quota_total_after !== null && s.quota_total_after !== undefined;
  const num = (v) => v === null || v === undefined ? "—" : Number(v).toLocaleString("zh-CN");
  const rerun = s["sequential re-run equals prediction"];
  const facts = h("dl", { class: "facts", id: "plan-facts" },
    h("dt", {}, "情景"), h("dd", {}, await scenarioName(job.scenario_id)),
    h("dt", {}, "优化目标"), h("dd", {}, `${OBJECTIVES[s.objective] || s.objective}（${s.sense === "minimize" ? "最小化" : "最大化"}）`),
    h("dt", {}, "求解状态"), h("dd", { "data-status": s.status }, `${s.status} ${SOLVE_STATUS[s.status] || ""}`),
    h("dt", {}, "目标值"), h("dd", {}, num(s.objective_value)),
    h("dt", {}, "上界"), h("dd", {}, num(s.bound)),
    h("dt", {}, "差距"), h("dd", {}, s.gap === null || s.gap === undefined ? "—" : `${num(s.gap)}（${pct(s.relative_gap)}）`),
    h("dt", {}, "现行计划的目标值"), h("dd", {}, num(s.baseline_objective_current_quotas)),
    h("dt", {}, "计划合计"), h("dd", {}, `${num(s.quota_total_before)} → ${num(s.quota_total_after)}`),
    h("dt", {}, "按新计划复算"), h("dd", { class: rerun ? "ok" : "bad", id: "plan-rerun" },
      rerun === true ? "与预测一致（录取与预录逐人相同）" : rerun === false ? `与预测不一致：${num(s.rerun_differences)} 名考生不同` : "未复算"));
  const good = found && rerun === true;
  const quotas = (job.quotas || []).map((r) => ({ ...r }));
  const changedRow = (r) => (r.change ? "changed" : null);
  put(out, 
    h("div", { class: "verdict " + (good ? "ok" : "bad"), role: "status", id: "plan-verdict" },
      found ? `${SOLVE_STATUS[s.status] || s.status}：目标值 ${num(s.objective_value)}，现行计划为 ${num(s.baseline_objective_current_quotas)}。` :
        `未找到方案（${SOLVE_STATUS[s.status] || s.status}）。`),
    facts,
    (s.bounds_notes || []).length ? h("ul", { class: "muted" }, s.bounds_notes.map((n) => h("li", {}, n))) : null,
    h("h3", {}, "各校招生计划：调整前后"), h("p", { class: "muted" }, "有变化的学校以黄色标出。"),
    h("div", { id: "plan-quotas" }, table(quotas, [["school_id", "学校代码"], ["name", "学校名称"], ["quota_before", "现行计划", count],
      ["quota_after", "新计划", count], ["change", "变化", (v) => v === null || v === undefined ? "" : (v > 0 ? "+" : "") + count(v)],
      ["min", "下限", count], ["max", "上限", count]], { caption: "各校招生计划调整前后", sortable: true, rowClass: changedRow })),
    h("h3", {}, "文件"), fileList(job.files));
}

async function viewSweep(id) {
  const box = progressBox();
  const out = h("div");
  show(h("h2", {}, "比例测算结果"), box.el, out);
  const job = await follow(`/sweep/${id}`, box, (j) => j.status === "done" || j.status === "failed");
  if (job.status === "failed") { put(out, alertBox("测算失败：" + (job.reason || "")), fileList(job.files)); return; }
  const rows = parseCsv(await text(`/sweep/${id}/sweep.csv`));
  const total = rows.filter((r) => (r.region_id || "") === "合计" || (r.name || "") === "合计");
  const use = total.length ? total : rows;
  const el = h("div", { class: "chart", id: "sweep-chart", role: "img", "aria-label": "比例测算图" });
  const shareKey = Object.keys(use[0] || {}).find((k) => k.startsWith("general_share")) || "general_share";
  put(out, el, h("h3", {}, "合计"), h("div", { id: "sweep-table" }, table(use, Object.keys(use[0] || {}).map((k) => [k, k]), { caption: "比例测算合计" })), h("h3", {}, "文件"), fileList(job.files));
  await chart(el, [
    { type: "scatter", mode: "lines+markers", name: "中职占比", x: use.map((r) => Number(r[shareKey])), y: use.map((r) => Number(r.vocational_share)) },
    { type: "scatter", mode: "lines+markers", name: "入学率", x: use.map((r) => Number(r[shareKey])), y: use.map((r) => Number(r.enrollment_rate)) },
  ], { title: { text: "普高占比与中职占比、入学率" }, xaxis: { title: { text: "普高占比" }, tickformat: ".0%" }, yaxis: { tickformat: ".0%" },
       shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: 0.5, y1: 0.5, line: { color: "#b42318", dash: "dash" } },
                { type: "line", xref: "paper", x0: 0, x1: 1, y0: 0.95, y1: 0.95, line: { color: "#1a7f37", dash: "dot" } }] });
}

async function viewBound(id) {
  const box = progressBox();
  const out = h("div");
  show(h("h2", {}, "录取上限结果"), box.el, out);
  const job = await follow(`/bound/${id}`, box, (j) => j.status === "done" || j.status === "failed");
  if (job.status === "failed") { put(out, alertBox("计算失败：" + (job.reason || "")), fileList(job.files)); return; }
  const s = job.summary || {};
  const flat = Object.entries(s).filter(([, v]) => typeof v !== "object").map(([k, v]) => ({ k, v }));
  const schools = job.schools || [];
  put(out, h("h3", {}, "概要"), table(flat, [["k", "项目"], ["v", "值"]]),
    h("h3", {}, "规则录取后仍有空额且有填报者未录取的学校"),
    table(schools, Object.keys(schools[0] || { school_id: 1 }).map((k) => [k, k]), { sortable: true }),
    h("h3", {}, "文件"), fileList(job.files));
}

// ---------------------------------------------------------------------------------------------------------
// 机制比较 Mechanism comparison (issue #15.3)

const MECHANISMS = { boston: "顺序志愿（boston）", parallel: "平行志愿（parallel）", "chen-kesten": "分段平行（chen-kesten）" };
const CHANGE_WORDS = { gain: "得益", lose: "受损", move: "改录（志愿未分先后）", other: "其他" };
const COMPARE_PHASES = ["starting", "loading the scenario", "comparing", "writing results"];

async function viewCompareForm() {
  const q = params();
  const options = await scenarioOptions();
  const scenario = select("scenario", options, q.scenario || options[0]?.[0]);
  const boxes = Object.entries(MECHANISMS).map(([value, label]) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "mechanism", value, checked: value !== "chen-kesten" }), " ", label));
  const e = h("input", { type: "number", name: "e", min: 1, step: 1, value: 2, size: 4 });
  const band = h("input", { type: "number", name: "band", min: 1, step: 1, value: 10 });
  const out = h("div", { id: "compare-form-result" });
  const form = h("form", { class: "inline", id: "compare-form" }, field("情景", scenario),
    h("fieldset", { class: "mechanisms" }, h("legend", {}, "录取机制（每种机制用于全部批次）"), boxes),
    field("分段平行每段志愿数 e", e), field("分数段宽度（分）", band), h("button", { type: "submit" }, "开始比较"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const mechanisms = [...form.querySelectorAll("input[name=mechanism]:checked")].map((c) =>
      c.value === "chen-kesten" ? `chen-kesten:${e.value}` : c.value);
    try {
      const job = await api(`/scenarios/${encodeURIComponent(scenario.value)}/compare`,
        { json: { mechanisms, band: Number(band.value) || 10 } });
      location.hash = `#/compare/${job.id}`;
    } catch (err) {
      put(out, alertBox(err.message), err.body?.problems?.length ? problemsTable(err.body.problems) : null);
    }
  });
  show(h("h2", {}, "录取机制比较"), h("p", { class: "muted" },
    "让同一批考生、同一份志愿分别按不同的录取机制录取，比较录取人数、第一志愿录取占比、有合理嫉妒的考生，" +
    "以及每两种机制之间哪些考生得益、受损（按考生自己的志愿衡量），并按分数段和地区统计。"),
  h("p", { class: "note", id: "compare-caveat-form" }, "注意：顺序志愿下考生的志愿是策略性填报的；用同一份志愿比较，" +
    "显示的是规则本身的机械差异，而不是考生改变填报行为之后的差异。"),
  h("section", { class: "card" }, form), out);
}

async function viewCompare(id) {
  const { job, out } = await followAnalysis("compare", id, COMPARE_PHASES,
    { title: "录取机制比较结果", cancel: "取消比较", failed: "比较失败：" });
  if (!job) return;
  const s = job.summary || {};
  const rows = job.mechanisms || [];
  const pairs = (job.pairs || []).map((p) => ({ ...p, pair: `${p.mechanism_a} → ${p.mechanism_b}` }));
  const named = (v, r) => `${v}${r.same_as ? `（等同于 ${r.same_as}）` : ""}`;
  const signed = (v) => v === null || v === undefined ? "" : (v > 0 ? "+" : "") + count(v);
  const el = h("div", { class: "chart", id: "compare-chart", role: "img", "aria-label": "录取机制比较图" });
  const png = h("div", { id: "compare-png" });
  put(out,
    h("div", { class: "verdict ok", role: "status", id: "compare-verdict" },
      `已比较 ${rows.length} 种机制：${await scenarioName(job.scenario_id)}`),
    h("p", { class: "note", id: "compare-caveat" }, s.caveat_zh || ""),
    h("h3", {}, "各机制"),
    h("div", { id: "compare-mechanisms" }, table(rows, [["mechanism", "录取机制"], ["mechanism_name", "名称", named],
      ["vocational", "中职录取", count], ["unplaced", "未录取", count], ["placed_first_choice", "第一志愿录取", count],
      ["first_choice_share", "第一志愿录取占比", pct], ["justified_envy_students", "有合理嫉妒的考生", count],
      ["general_vocational_ratio", "普职比"], ["enrollment_rate", "高中阶段入学率", pct], ["vacancies", "空额", count]],
    { caption: "各机制的录取结果" })),
    el,
    h("h3", {}, "两两比较（从机制甲到机制乙，按考生自己的志愿衡量）"),
    h("div", { id: "compare-pairs" }, table(pairs, [["pair", "机制甲 → 机制乙"], ["changed", "结果不同的考生", count],
      ["gain", CHANGE_WORDS.gain, count], ["lose", CHANGE_WORDS.lose, count], ["move", CHANGE_WORDS.move, count],
      ["other", CHANGE_WORDS.other, count], ["net", "净得益（得益−受损）", signed]], { caption: "两两比较" })),
    h("p", { class: "muted" }, "得益：机制乙下被录取而机制甲下未被录取，或录取的学校在考生自己的志愿表中更靠前；受损相反；" +
      "改录：两种机制下都被录取，但考生的志愿表不能说明孰先孰后。按分数段和地区的统计见 pairs.csv 与 compare.xlsx。"),
    h("h3", {}, "图"), png,
    h("h3", {}, "文件"), fileList(job.files));
  const ticks = rows.map((r) => r.mechanism);
  await chart(el, [
    { type: "bar", name: "有合理嫉妒的考生", x: ticks, y: rows.map((r) => r.justified_envy_students), yaxis: "y" },
    { type: "scatter", mode: "lines+markers", name: "第一志愿录取占比", x: ticks, y: rows.map((r) => r.first_choice_share),
      yaxis: "y2" },
  ], { title: { text: "各机制：有合理嫉妒的考生与第一志愿录取占比" }, margin: { t: 40, r: 80, b: 60, l: 60 }, yaxis: { title: { text: "人数" }, rangemode: "tozero" },
       yaxis2: { title: { text: "第一志愿录取占比" }, overlaying: "y", side: "right", tickformat: ".0%", range: [0, 1.05] } });
  if (job.files["compare.png"]) {
    try {
      const response = await raw(job.files["compare.png"]);
      if (response.ok) {
        const url = URL.createObjectURL(await response.blob());
        put(png, h("img", { src: url, alt: "录取机制比较图（compare.png）", class: "figure" }));
      }
    } catch (err) { report(err); }
  }
}

// ---------------------------------------------------------------------------------------------------------
// 空额模拟 Monte Carlo of declines (issue #16.3)

const MONTECARLO_PHASES = ["starting", "loading the scenario", "draws", "writing results"];
const MAX_DRAWS = 10000;

/** A number with thousands separators and at most two decimals (means and percentiles over the draws). */
function dec(v) {
  return v === null || v === undefined || v === "" ? "" : Number(v).toLocaleString("zh-CN", { maximumFractionDigits: 2 });
}
/** 普职比 as 1 : x (x vocational per general student), as solver.analysis.montecarlo.ratio_text writes it. */
function ratio(v) { return v === null || v === undefined || v === "" ? "" : "1 : " + Number(v).toFixed(2); }

/** The decline rate as typed ("4%", "4 ％", "0.04"): the value to send, or an error in Chinese. */
function parseRate(typed) {
  const s = String(typed).trim().replace(/％/g, "%").replace(/\s+/g, "");
  if (!s) return { error: "请填写放弃率，例如 4% 或 0.04。" };
  const percent = s.endsWith("%");
  const body = percent ? s.slice(0, -1) : s;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(body)) return { error: `放弃率“${typed}”不是数字：请写成 4% 或 0.04。` };
  const rate = Number(body) / (percent ? 100 : 1);
  if (rate < 0 || rate > 1) {
    return { error: `放弃率应在 0 到 100% 之间（0 到 1），而不是 ${typed}${!percent && rate > 1 ? "；百分数请加 %，例如 4%" : ""}。` };
  }
  return { value: percent ? s : rate };
}

function wholeNumber(typed) { const s = String(typed).trim(); return /^\d+$/.test(s) ? Number(s) : null; }

async function viewMonteCarloForm() {
  const q = params();
  const options = await scenarioOptions();
  const scenario = select("scenario", options, q.scenario || options[0]?.[0]);
  const rate = h("input", { type: "text", name: "decline_rate", value: "4%", size: 8, inputmode: "decimal" });
  const draws = h("input", { type: "number", name: "draws", min: 1, max: MAX_DRAWS, step: 1, value: 200 });
  const seed = h("input", { type: "number", name: "seed", min: 0, step: 1, value: 1 });
  const keep = h("input", { type: "checkbox", name: "keep_declines" });
  const out = h("div", { id: "montecarlo-form-result" });
  const form = h("form", { class: "inline", id: "montecarlo-form", novalidate: true }, field("情景", scenario),
    field("放弃率（每名考生每批次）", rate), field("抽样次数", draws), field("随机种子", seed),
    h("label", { class: "check" }, keep, " 保留情景已有的放弃名单"), h("button", { type: "submit" }, "开始模拟"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const problems = [];
    for (const el of [rate, draws, seed]) el.removeAttribute("aria-invalid");
    const r = parseRate(rate.value);
    if (r.error) { problems.push(r.error); rate.setAttribute("aria-invalid", "true"); }
    const n = wholeNumber(draws.value);
    if (n === null || n < 1 || n > MAX_DRAWS) {
      problems.push(`抽样次数应为 1 到 ${MAX_DRAWS.toLocaleString("zh-CN")} 之间的整数。`);
      draws.setAttribute("aria-invalid", "true");
    }
    const s = wholeNumber(seed.value);
    if (s === null || !Number.isSafeInteger(s)) { problems.push("随机种子应为 0 或更大的整数。"); seed.setAttribute("aria-invalid", "true"); }
    if (problems.length) {
      put(out, h("div", { class: "alert", role: "alert", id: "montecarlo-form-errors" }, "未提交：",
        h("ul", {}, problems.map((p) => h("li", {}, p)))));
      return;
    }
    put(out);
    try {
      const job = await api(`/scenarios/${encodeURIComponent(scenario.value)}/montecarlo`,
        { json: { decline_rate: r.value, draws: n, seed: s, keep_declines: keep.checked } });
      location.hash = `#/montecarlo/${job.id}`;
    } catch (err) {
      put(out, alertBox(err.message), err.body?.problems?.length ? problemsTable(err.body.problems) : null);
    }
  });
  show(h("h2", {}, "空额模拟（放弃录取的蒙特卡洛模拟）"), h("p", { class: "muted" },
    "在公布招生计划之前回答：如果约 4% 的被录取考生放弃录取，最后一批录取结束后每所学校可能还剩多少空额？" +
    "每次抽样让每名考生在每个批次按放弃率独立地放弃预录，再按规则重新录取；结果给出各校空额的均值与 5%–95% 区间、招满的概率，" +
    "以及各地区普职比与高中阶段入学率的范围。"),
  h("section", { class: "card" }, form), out);
}

const MC_TEXT = new Set(["school_id", "name", "region_id", "general_vocational_ratio"]);
/** montecarlo_*.csv rows with their numbers as numbers (so that the tables sort them as numbers). */
function typedRows(rows) {
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k,
    MC_TEXT.has(k) ? v : v === "true" ? true : v === "false" ? false : v === "" ? null : Number(v)])));
}
const byVacancies = (a, b) => (b.vacancies_mean ?? -1) - (a.vacancies_mean ?? -1) ||
  String(a.school_id).localeCompare(String(b.school_id));

async function viewMonteCarlo(id) {
  const { job, out } = await followAnalysis("montecarlo", id, MONTECARLO_PHASES,
    { title: "空额模拟结果", cancel: "取消模拟", failed: "模拟失败：" });
  if (!job) return;
  const s = job.summary || {};
  const p = { ...(job.params || {}), ...(s.params || {}) };
  const schools = job.files["montecarlo_schools.csv"]
    ? typedRows(parseCsv(await text(job.files["montecarlo_schools.csv"]))).sort(byVacancies) : [];
  const regions = job.regions || [];
  const totals = s.totals || {};
  const vac = totals.vacancies || {};
  const counted = s.schools || {};
  const el = h("div", { class: "chart", id: "montecarlo-chart", role: "img", "aria-label": "各学校空额均值与 5%–95% 区间" });
  const png = h("div", { id: "montecarlo-png" });
  const enrollOk = (v) => v !== null && v !== undefined && v >= (s.enrollment_target ?? 0.95);
  put(out,
    h("div", { class: "verdict ok", role: "status", id: "montecarlo-verdict" },
      `已模拟 ${count(p.draws ?? s.draws)} 次：${await scenarioName(job.scenario_id)}，放弃率 ${pct(p.decline_rate)}，` +
      `随机种子 ${p.seed ?? ""}，${p.keep_declines ? "保留情景已有的放弃名单并加上随机放弃" : "随机放弃代替情景已有的放弃名单"}，` +
      `用时 ${secs(job.elapsed_seconds)}。`),
    h("p", { id: "montecarlo-totals" }, `最后一批录取结束后，全部学校空额合计：均值 ${dec(vac.mean)}（5%–95%：${dec(vac.p5)}–${dec(vac.p95)}）；` +
      `按情景已有的放弃名单为 ${count(vac.scenario)}。${count(counted.registered)} 所备案学校中，每次都招满的 ${count(counted.always_filled)} 所，` +
      `一次也招不满的 ${count(counted.never_filled)} 所。`),
    h("h3", {}, "各学校末批次后的空额"),
    h("div", { id: "montecarlo-schools" }, table(schools, [["school_id", "学校代码"], ["name", "学校名称"], ["region_id", "所在地"],
      ["quota", "招生计划", count], ["vacancies_scenario", "空额（已有放弃名单）", count], ["vacancies_mean", "空额均值", dec],
      ["vacancies_p5", "空额 P5", dec], ["vacancies_p95", "空额 P95", dec], ["vacancies_min", "最少", count],
      ["vacancies_max", "最多", count], ["fill_probability", "招满概率", pct], ["declined_mean", "放弃人数均值", dec]],
    { caption: "各学校末批次后的空额", sortable: true, rowClass: (r) => r.registered === false ? "muted" : null })),
    h("p", { class: "muted" }, "P5、P95：各次模拟的第 5、第 95 百分位（90% 的模拟落在两者之间）；招满概率：空额为 0 的模拟所占比例。" +
      "点击表头可排序。"),
    el,
    h("h3", {}, "各地区普职比与高中阶段入学率"),
    h("div", { id: "montecarlo-regions" }, table(regions, [["region_id", "地区代码"], ["name", "地区名称"],
      ["graduates", "初中应届毕业生", count], ["vocational_mean", "中职录取均值", dec], ["unplaced_mean", "未录取均值", dec],
      ["vocational_per_general_p5", "普职比 P5", ratio], ["vocational_per_general_p50", "普职比中位数", ratio],
      ["vocational_per_general_p95", "普职比 P95", ratio], ["enrollment_rate_p5", "入学率 P5", pct],
      ["enrollment_rate_p50", "入学率中位数", pct], ["enrollment_rate_p95", "入学率 P95", pct],
      ["enrollment_target_probability", "入学率达 95% 的概率", pct]],
    { caption: "各地区普职比与入学率的范围", sortable: true, rowClass: (r) => r.name === "合计" ? "total" : null,
      cell: (r, k) => k === "enrollment_rate_p5" && r[k] !== null && r[k] !== undefined
        ? h("td", { class: "num " + (enrollOk(r[k]) ? "ok-cell" : "bad-cell") }, pct(r[k]), enrollOk(r[k]) ? " ✓" : " <95%") : null })),
    h("p", { class: "muted" }, "普职比写作 1 : x（每名普高学生对应的中职学生，约 1 : 1，JZ §一）；高中阶段入学率应不低于 95%（HY §六.三）。"),
    h("h3", {}, "图"), png,
    h("h3", {}, "文件"), fileList(job.files));
  const shown = schools.filter((r) => r.registered !== false).slice(0, 30);
  await chart(el, [
    { type: "bar", name: "空额均值", x: shown.map((r) => r.name), y: shown.map((r) => r.vacancies_mean),
      error_y: { type: "data", symmetric: false, array: shown.map((r) => Math.max(0, r.vacancies_p95 - r.vacancies_mean)),
                 arrayminus: shown.map((r) => Math.max(0, r.vacancies_mean - r.vacancies_p5)), color: "#b42318" },
      customdata: shown.map((r) => [r.vacancies_p5, r.vacancies_p95, r.fill_probability]),
      hovertemplate: "%{x}<br>空额均值 %{y}<br>P5–P95：%{customdata[0]}–%{customdata[1]}<br>招满概率 %{customdata[2]:.1%}<extra></extra>" },
    { type: "scatter", mode: "markers", name: "已有放弃名单", x: shown.map((r) => r.name), y: shown.map((r) => r.vacancies_scenario),
      marker: { symbol: "line-ew-open", size: 18, color: "#1b1f24" } },
  ], { title: { text: `各学校末批次后的空额（均值与 5%–95% 区间，${count(p.draws ?? s.draws)} 次模拟）` },
       margin: { t: 40, r: 20, b: 120, l: 100 }, yaxis: { title: { text: "空额（人）" }, rangemode: "tozero" },
       xaxis: { tickangle: -30, automargin: true } });
  if (job.files["montecarlo.png"]) {
    try {
      const response = await raw(job.files["montecarlo.png"]);
      if (response.ok) {
        const url = URL.createObjectURL(await response.blob());
        put(png, h("img", { src: url, alt: "空额模拟图（montecarlo.png）", class: "figure" }));
      }
    } catch (err) { report(err); }
  }
}

// ---------------------------------------------------------------------------------------------------------
// 审核 Audit

async function viewAudit() {
  const q = params();
  const options = await scenarioOptions();
  const scenario = select("scenario", options, q.scenario || options[0]?.[0]);
  const result = h("input", { type: "file", name: "result", accept: ".csv,.xlsx", required: true });
  const offers = h("input", { type: "file", name: "offers", accept: ".csv,.xlsx" });
  const out = h("div", { id: "audit-result" });
  const form = h("form", { class: "inline", id: "audit-form" }, field("情景", scenario),
    field("公布的录取结果（admissions.csv 或 .xlsx）", result), field("预录名单 offers.csv（可选）", offers),
    h("button", { type: "submit" }, "开始审核"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!result.files.length) return;
    const data = new FormData();
    data.append("result", result.files[0]);
    if (offers.files.length) data.append("offers", offers.files[0]);
    put(out, h("p", { role: "status" }, "正在审核…"));
    try {
      const audit = await api(`/scenarios/${encodeURIComponent(scenario.value)}/audits`, { method: "POST", body: data });
      location.hash = `#/audits/${audit.id}`;
    } catch (err) {
      put(out, alertBox(err.message), err.body?.problems?.length ? problemsTable(err.body.problems, err.body.problems_total) : null);
    }
  });
  show(h("h2", {}, "审核公布的录取结果"),
    h("p", { class: "muted" }, "上传已公布的录取结果，按规则 R1–R12 逐条检查，列出违规、解释与差异。"), h("section", { class: "card" }, form), out);
}

async function viewAuditResult(id) {
  const audit = await api(`/audits/${id}`);
  const s = audit.summary || {};
  const clean = audit.status === "clean";
  const byRule = {};
  const page = await api(`/audits/${id}/violations?limit=1000`);
  for (const v of page.items) (byRule[v.rule] = byRule[v.rule] || []).push(v);
  let explanations = [];
  if (audit.files["explanations.csv"]) explanations = parseCsv(await text(audit.files["explanations.csv"]));
  let differences = [];
  if (audit.files["differences.csv"]) differences = parseCsv(await text(audit.files["differences.csv"]));
  const groups = Object.keys(byRule).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))).map((rule) =>
    h("section", { class: "card rule-group", "data-rule": rule, "aria-label": `${rule} ${RULES[rule] || ""}` },
      h("h3", {}, `${rule} ${RULES[rule] || ""}：${byRule[rule].length.toLocaleString("zh-CN")} 条`),
      table(byRule[rule].slice(0, 100), [["student_id", "考生号"], ["school_id", "学校"], ["batch", "批次"],
        ["other_student_id", "相关考生号"], ["detail", "详情"]], { caption: `${rule} 违规`, sortable: true })));
  show(h("h2", {}, `审核结果：${await scenarioName(audit.scenario_id)}`),
    h("div", { class: "verdict " + (clean ? "ok" : "bad"), role: "status", id: "audit-verdict" },
      clean ? "审核通过：公布的结果符合全部规则（R1–R12）。" : `发现违规：${count(page.total)} 条` +
        (s.differences !== undefined ? `；与规则结果不同的考生 ${count(s.differences)} 名` : "") + "。"),
    h("p", { class: "muted" }, `输入：${audit.input?.result || ""}${audit.input?.offers ? "，" + audit.input.offers : ""} · ${when(audit.finished_at)}`),
    explanations.length ? h("section", { id: "explanations", "aria-labelledby": "ex-title" }, h("h3", { id: "ex-title" }, "违规解释"),
      h("p", { class: "muted" }, "每条解释给出一组不能同时成立的公布事实。"),
      h("ol", { class: "steps" }, explanations.slice(0, 100).map((e) => h("li", { "data-rule": e.rule },
        h("span", { class: "badge bad" }, `${e.rule} ${RULES[e.rule] || ""}`), " ",
        e.batch ? `第${e.batch}批 ` : "", e.school_id ? `学校 ${e.school_id}：` : "", e.explanation)))) : null,
    groups.length ? h("h3", {}, "按规则分组的违规") : null, groups,
    differences.length ? h("section", {}, h("h3", {}, `与规则结果的差异（${differences.length.toLocaleString("zh-CN")} 名，列出前 100 名）`),
      table(differences.slice(0, 100), Object.keys(differences[0]).map((k) => [k, k]), { caption: "差异", sortable: true })) : null,
    h("h3", {}, "文件"), fileList(audit.files));
}

// ---------------------------------------------------------------------------------------------------------
// routing

const ROUTES = [
  [/^#?\/?$/, "scenarios", viewScenarios],
  [/^#\/scenarios$/, "scenarios", viewScenarios],
  [/^#\/run$/, "run", viewRunForm],
  [/^#\/runs\/([\w-]+)$/, "run", viewRun],
  [/^#\/results$/, "results", viewResultsPick],
  [/^#\/results\/([\w-]+)$/, "results", viewResults],
  [/^#\/why$/, "why", viewWhy],
  [/^#\/whatif$/, "whatif", viewWhatif],
  [/^#\/whatif\/([\w-]+)$/, "whatif", viewWhatifJob],
  [/^#\/analysis$/, "analysis", viewAnalysis],
  [/^#\/sweep\/([\w-]+)$/, "analysis", viewSweep],
  [/^#\/bound\/([\w-]+)$/, "analysis", viewBound],
  [/^#\/plan$/, "plan", viewPlanForm],
  [/^#\/plan\/([\w-]+)$/, "plan", viewPlan],
  [/^#\/compare$/, "compare", viewCompareForm],
  [/^#\/compare\/([\w-]+)$/, "compare", viewCompare],
  [/^#\/montecarlo$/, "montecarlo", viewMonteCarloForm],
  [/^#\/montecarlo\/([\w-]+)$/, "montecarlo", viewMonteCarlo],
  [/^#\/audit$/, "audit", viewAudit],
  [/^#\/audits\/([\w-]+)$/, "audit", viewAuditResult],
];

let current = 0;
async function route() {
  const hash = location.hash.split("?")[0];
  const mine = ++current;
  for (const [re, nav, view] of ROUTES) {
    const m = hash.match(re);
    if (!m) continue;
    for (const a of document.querySelectorAll("[data-nav]")) {
      if (a.dataset.nav === nav) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    main().removeAttribute("data-ready");
    show(h("p", { class: "loading", role: "status" }, "正在加载…"));
    try {
      await view(...m.slice(1));
    } catch (err) {
      if (mine === current) report(err);
    }
    if (mine === current) main().setAttribute("data-view", nav);
    return;
  }
  show(h("h2", {}, "找不到此页"), h("p", {}, h("a", { href: "#/" }, "回到情景")));
}

async function start() {
  const meta = document.querySelector('meta[name="zhaosheng-token"]');
  if (meta && meta.content === "yes" && !token()) await askToken(false);
  window.addEventListener("hashchange", () => { route(); main().focus({ preventScroll: true }); });
  try {
    const health = await api("/health");
    document.getElementById("version").textContent = "版本 " + health.version;
    document.getElementById("server-status").textContent =
      `运行中 ${health.runs_running + (health.analyses_running || 0)} · 排队 ${health.runs_queued + (health.analyses_queued || 0)}`;
  } catch (err) { report(err); }
  await route();
}

document.addEventListener("DOMContentLoaded", start);
