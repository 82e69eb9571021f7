"""The chart of a mechanism comparison, labelled in Chinese: per mechanism the students placed and unplaced,
the share placed at their first choice and the students with justified envy; and, between the first
mechanism and each other one, the students who gain and who lose per score band.  ``compare.png``
(matplotlib, the CJK font of `solver.analysis.fonts`) with the caveat on strategic lists under it, and
``compare.html`` (plotly, plotly.js embedded: it opens offline)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from solver.analysis.compare.report import CAVEAT_ZH, CompareReport, band_label


def chart_title(report: CompareReport) -> str:
    return f"{report.title or report.scenario}：录取机制比较（同一份志愿）"


def _ticks(report: CompareReport) -> list[str]:
    return [f"{r['mechanism']}\n{r['mechanism_name']}" for r in report.mechanisms.to_dict("records")]


def _first_pairs(report: CompareReport) -> list[tuple[str, pd.DataFrame]]:
    """(label, per score band rows) of each pair of the first mechanism with another one."""
    first = report.labels[0]
    bands = report.pairs[(report.pairs["by"] == "score_band") & (report.pairs["mechanism_a"] == first)]
    return [(f"{first} → {other}", part.assign(low=part["key"].astype(float)).sort_values("low"))
            for other, part in bands.groupby("mechanism_b", sort=False)]


def chart_png(report: CompareReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, PercentFormatter, StrMethodFormatter

    from solver.analysis.fonts import use_cjk_font

    use_cjk_font()
    m = report.mechanisms
    x = np.arange(len(m))
    ticks = _ticks(report)
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5), constrained_layout=True)
    (placed, first), (envy, bands) = axes
    width = 0.38
    for offset, col, label, color in ((-width / 2, "vocational", "中职录取", "C0"),
                                      (width / 2, "unplaced", "未录取", "C1")):
        bars = placed.bar(x + offset, m[col], width, label=label, color=color)
        placed.bar_label(bars, labels=[f"{int(v):,}" for v in m[col]], fontsize=8)
    placed.set_title("中职录取与未录取考生")
    placed.set_ylabel("人数")
    placed.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    placed.legend(fontsize=8)
    share = m["first_choice_share"].astype(float)
    bars = first.bar(x, share, 0.6, color="C2")
    first.bar_label(bars, labels=[f"{v:.1%}" if v == v else "" for v in share], fontsize=8)
    first.set_title("第一志愿录取占比（参加中职批次录取的考生中）")
    first.yaxis.set_major_formatter(PercentFormatter(1.0))
    first.set_ylim(0, 1.05)
    bars = envy.bar(x, m["justified_envy_students"], 0.6, color="C3")
    envy.bar_label(bars, labels=[f"{int(v):,}" for v in m["justified_envy_students"]], fontsize=8)
    envy.set_title("有合理嫉妒的考生（被填报在前的学校拒绝，而该校录取了排在其后的考生）")
    envy.set_ylabel("人数")
    envy.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    for ax in (placed, first, envy):
        ax.set_xticks(x, ticks, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    for ax in (placed, envy, bands):
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    pairs = _first_pairs(report)
    step = report.band / (len(pairs) + 1)
    for i, (label, part) in enumerate(pairs):
        low = part["low"].to_numpy() + step * (i + 0.5)
        bands.bar(low, part["gain"], step, color=f"C{i}", label=f"{label}：得益")
        bands.bar(low, -part["lose"], step, color=f"C{i}", alpha=0.45, label=f"{label}：受损")
    bands.axhline(0, color="0.3", lw=0.8)
    bands.set_title("各分数段得益（上）与受损（下）的考生")
    bands.set_xlabel(f"中考成绩分数段（每 {report.band:g} 分）")
    bands.set_ylabel("人数")
    bands.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    if pairs:
        bands.legend(fontsize=8)
    bands.grid(alpha=0.3)
    fig.suptitle(chart_title(report))
    fig.text(0.5, -0.01, "\n".join(textwrap.wrap(CAVEAT_ZH, 70)), ha="center", va="top", fontsize=9, color="0.25")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def chart_html(report: CompareReport, path: Path) -> None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    m = report.mechanisms
    ticks = [t.replace("\n", "<br>") for t in _ticks(report)]
    fig = make_subplots(rows=2, cols=2, subplot_titles=("中职录取与未录取考生", "第一志愿录取占比", "有合理嫉妒的考生",
                                                        "各分数段得益与受损的考生"))
    for col, name in (("vocational", "中职录取"), ("unplaced", "未录取")):
        fig.add_trace(go.Bar(x=ticks, y=m[col], name=name, hovertemplate=f"%{{x}}：{name} %{{y:,}}<extra></extra>"),
                      row=1, col=1)
    fig.add_trace(go.Bar(x=ticks, y=m["first_choice_share"], name="第一志愿录取占比", texttemplate="%{y:.1%}",
                         hovertemplate="%{x}：%{y:.2%}<extra></extra>"), row=1, col=2)
    fig.add_trace(go.Bar(x=ticks, y=m["justified_envy_students"], name="有合理嫉妒的考生", texttemplate="%{y:,}",
                         hovertemplate="%{x}：%{y:,}<extra></extra>"), row=2, col=1)
    for label, part in _first_pairs(report):
        names = [band_label(low, report.band) for low in part["low"]]
        fig.add_trace(go.Bar(x=names, y=part["gain"], name=f"{label}：得益",
                             hovertemplate="%{x}：得益 %{y:,}<extra></extra>"), row=2, col=2)
        fig.add_trace(go.Bar(x=names, y=-part["lose"], name=f"{label}：受损",
                             hovertemplate="%{x}：受损 %{customdata:,}<extra></extra>", customdata=part["lose"]),
                      row=2, col=2)
    fig.update_yaxes(tickformat=",", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05], row=1, col=2)
    fig.update_yaxes(tickformat=",", row=2, col=1)
    fig.update_yaxes(tickformat=",", row=2, col=2)
    fig.update_layout(title=chart_title(report), barmode="group", height=820, separators=".,",
                      font={"family": "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"},
                      annotations=[*fig.layout.annotations,
                                   {"text": "<br>".join(textwrap.wrap(CAVEAT_ZH, 70)), "xref": "paper",
                                    "yref": "paper", "x": 0.5, "y": -0.12, "showarrow": False,
                                    "font": {"size": 12, "color": "#555"}}],
                      margin={"b": 140})
    fig.write_html(path, include_plotlyjs=True, full_html=True)
