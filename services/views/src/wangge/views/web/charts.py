"""The ECharts options of the web dashboard, made on the server from the views API's answers.

The browser only hands these options to ECharts: every number in them is the API's, picked out
of its answer, never computed a second time (the series are the dashboard's months, the map's
values its grids' figures). Chinese labels are the charts' own words, but for the tags of
special groups: the registry's names for them (``wangge.governance.special_groups``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wangge.governance.special_groups import KNOWN_TAGS

MAP_FIGURES: Mapping[str, str] = {
    "complaint_rate": "投诉率（‰）",
    "overdue_cases": "超期案件",
    "care_missed": "关爱漏访",
}
"""The figures a grid map may be coloured by, each a field of ``/subdistricts/{code}/grids``."""

RISKS: Mapping[str, str] = {"high": "高", "medium": "中", "low": "低", "unknown": "未评"}

_PALETTE = ["#1d4ed8", "#0f766e", "#b45309", "#7c3aed", "#be123c"]


def tag_name(tag: str) -> str:
    """A tag's Chinese name (a tag the registry does not name shows as it is spelled)."""
    return KNOWN_TAGS.get(tag, tag)


def three_rates(series: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """响应率 / 解决率 / 满意率 by month (percent), a gap where a month had nothing to divide."""

    def pct(value: float | None) -> float | None:
        return None if value is None else round(value * 100, 2)

    months = [m["month"] for m in series]
    lines = [
        ("响应率", "response_rate"),
        ("解决率", "resolution_rate"),
        ("满意率", "satisfaction_rate"),
    ]
    return {
        "color": _PALETTE,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 48, "right": 16, "top": 36, "bottom": 32},
        "xAxis": {"type": "category", "data": months},
        "yAxis": {"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "series": [
            {"name": name, "type": "line", "connectNulls": False, "showSymbol": False,
             "data": [pct(m["hotline"][field]) for m in series]}
            for name, field in lines
        ],
    }  # fmt: skip


def tickets_by_month(series: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The month's tickets and complaints, as bars."""
    return {
        "color": _PALETTE,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 48, "right": 16, "top": 36, "bottom": 32},
        "xAxis": {"type": "category", "data": [m["month"] for m in series]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {"name": "工单", "type": "bar", "data": [m["hotline"]["tickets"] for m in series]},
            {"name": "投诉", "type": "bar", "data": [m["hotline"]["complaints"] for m in series]},
        ],
    }


def bars(counts: Mapping[str, int], names: Mapping[str, str]) -> dict[str, Any]:
    """Counts by category as horizontal bars, the largest on top."""
    ordered = sorted(counts.items(), key=lambda kv: kv[1])
    empty = {"text": "暂无", "left": "center", "top": "middle",
             "textStyle": {"color": "#475569", "fontWeight": "normal"}}  # fmt: skip
    return {
        **({} if ordered else {"title": empty}),
        "color": _PALETTE[1:],
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 110, "right": 24, "top": 8, "bottom": 24},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": [names.get(k, k) for k, _ in ordered]},
        "series": [{"type": "bar", "barMaxWidth": 28, "data": [v for _, v in ordered],
                    "label": {"show": True, "position": "right"}}],
    }  # fmt: skip


def grid_map(map_name: str, grids: Sequence[Mapping[str, Any]], figure: str) -> dict[str, Any]:
    """The area's grids drawn from their boundaries, coloured by ``figure`` (one of
    :data:`MAP_FIGURES`); a grid links to its page. ``_geo`` is the GeoJSON the page registers
    as the map ``map_name`` before the option is set."""
    drawn = [g for g in grids if g["boundary"]]
    features = [
        {"type": "Feature", "properties": {"name": g["code"]}, "geometry": g["boundary"]}
        for g in drawn
    ]
    values = [g[figure] for g in drawn if g[figure] is not None]
    return {
        "_geo": {"name": map_name, "geojson": {"type": "FeatureCollection", "features": features}},
        "tooltip": {"trigger": "item"},
        "visualMap": {
            "min": 0, "max": max([*values, 1]), "calculable": True, "right": 8, "bottom": 8,
            "text": ["高", "低"], "inRange": {"color": ["#e0f2fe", "#f59e0b", "#b91c1c"]},
        },
        "series": [{
            "type": "map", "map": map_name, "roam": True, "name": MAP_FIGURES[figure],
            "label": {"show": False}, "emphasis": {"label": {"show": True}},
            "itemStyle": {"borderColor": "#334155", "borderWidth": 1},
            "data": [
                {"name": g["code"], "value": g[figure], "href": f"/grid/{g['code']}",
                 "label": g["name"]}
                for g in drawn
            ],
        }],
    }  # fmt: skip
