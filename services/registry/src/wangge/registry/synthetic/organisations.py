"""The organisations and things of a synthetic subdistrict: credit codes, shop and society names,
key facilities and hazard points."""

from __future__ import annotations

import random

from faker import Faker

# GB 32100 registration authority + category: 1x 机构编制, 5x 民政, 9x 市场监管
_USCC_PREFIXES = {
    "enterprise": ("91",),
    "individual_business": ("92",),
    "social_organisation": ("51", "52"),
    "public_institution": ("12",),
}
_ORGANISATION_WEIGHTS = (
    ("enterprise", 45),
    ("individual_business", 35),
    ("social_organisation", 10),
    ("public_institution", 10),
)
_ORG_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100's alphabet (no I, O, S, V, Z)
_SHOPS = ("面馆", "便利店", "五金店", "理发店", "水果店", "早餐店", "干洗店", "药店", "包子铺")
_SOCIAL = ("老年人协会", "志愿者服务队", "文体协会", "居家养老服务中心", "邻里互助会")
_PUBLIC = ("小学", "幼儿园", "社区卫生服务站", "文化活动中心", "中学")

_ORDINALS = ("", "第二", "第三", "第四", "第五", "第六", "第七", "第八", "第九", "第十")

_FACILITIES = (
    ("配电房", "高压设备由物业管理并每月巡查"),
    ("地下车库", "车辆密集且汛期需关注排水"),
    ("燃气调压站", "燃气公司负责维护并在周边禁止明火"),
    ("电动自行车集中充电棚", "夜间集中充电并配有灭火器和监控"),
    ("消防控制室", "24小时值班并定期检查联动设备"),
    ("二次供水泵房", "涉及居民饮水安全并按季度清洗水箱"),
)
_HAZARDS = (
    ("楼道堆物", "楼道内堆放杂物堵塞疏散通道"),
    ("飞线充电", "从楼上私拉电线为电动车充电"),
    ("外墙空鼓", "外墙瓷砖空鼓存在坠落风险"),
    ("消防通道占用", "私家车长期占用消防通道"),
    ("雨季积水点", "暴雨时路面积水超过二十厘米"),
    ("老旧燃气管道", "管道锈蚀已报燃气公司排查"),
)


def _organisation_code(rng: random.Random) -> str:
    """A GB 11714 organisation code (8 characters and a check character), as inside a USCC."""
    if rng.random() < 0.6:  # registered since 2015: 江苏 codes start "MA"
        body = "MA" + "".join(rng.choice(_ORG_CODE_CHARS) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(char, 36) * weight for char, weight in zip(body, weights, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def _organisation_name(
    kind: str, subdistrict: str, community: str, rng: random.Random, fake: Faker, taken: set[str]
) -> str:
    """A name not taken yet, as names are unique within a registration area (best effort)."""
    name = ""
    for _ in range(50):
        if kind == "enterprise":
            name = fake.company()
        elif kind == "individual_business":
            name = f"{subdistrict.removesuffix('街道')}{fake.last_name()}记{rng.choice(_SHOPS)}"
        else:  # 滨江小学, then 滨江第二小学
            social = kind == "social_organisation"
            template = rng.choice(_SOCIAL if social else _PUBLIC)
            prefix = f"{subdistrict}{community}" if social else community.removesuffix("社区")
            names = (f"{prefix}{ordinal}{template}" for ordinal in _ORDINALS)
            name = next((candidate for candidate in names if candidate not in taken), name)
        if name not in taken:
            break
    taken.add(name)
    return name
