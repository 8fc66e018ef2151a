"""The tags of special, key and vulnerable groups (特殊 / 重点 / 困难人群) and their Chinese names.

The registry tags people with them (and refuses any other); the views count and show them.
Both take the names from here, so a tag the registry accepts is one every page can name.
"""

from __future__ import annotations

from collections.abc import Mapping

KNOWN_TAGS: Mapping[str, str] = {
    "disabled": "残疾人",
    "elderly_living_alone": "独居老人",
    "subsistence_allowance": "低保",
    "extreme_poverty": "特困",
    "veteran": "退役军人",
    "community_correction": "社区矫正",
    "severe_mental_disorder": "严重精神障碍",
    "left_behind_child": "留守儿童",
    "key_youth": "重点青少年",
    "released_prisoner": "刑满释放",
    "drug_rehabilitation": "社区戒毒康复",
    "disabled_elderly": "失能老人",
}
"""Tags for special, key and vulnerable groups, with their Chinese names."""
