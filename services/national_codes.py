"""The national system's code tables (全国中小学生学籍信息管理系统) and their mapping to ours.

Our records keep the codes of data/codes.json (services/codes.py); the national basic-information
spreadsheet uses its own codes, which differ for some tables (身份证件类型 A/Z, 健康状况 10–50,
港澳台侨外 00–99, 入学方式 11/12, family relations of GB/T 4761). Each table here says:

- `national`: national code → national name (what the exported file writes is the code);
- `to_national`: our code → national code (identity where the codes agree);
- `from_national`: national code → our code (several national codes may fold into one of ours);
- `aliases`: other spellings that circulate (a one-digit health code, 户口簿, CHN for 156 …).

`parse()` accepts the national code, the national name, our code's Chinese name or an alias, so a
file filled in either style (the notes of /work/shared/NATIONAL-FIELDS.md: "accept both and
export codes") is read. Our tables are finer than the national ones in places and coarser in
others; a difference is one only when neither side's mapping makes the two values agree
(`same_value`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from services import codes


class UnknownCode(ValueError):
    """A cell's value is no code or name of its table."""


@dataclass(frozen=True)
class NationalTable:
    name: str  # the name used by the columns
    ours: str | None  # our table in data/codes.json; None when we keep the national codes as they are
    national: dict[str, str]
    to_national: dict[str, str] = field(default_factory=dict)  # empty: identity
    from_national: dict[str, str] = field(default_factory=dict)  # empty: identity
    aliases: dict[str, str] = field(default_factory=dict)  # spelling → national code

    def national_code(self, ours: str | None) -> str | None:
        if ours is None or ours == "":
            return None
        return self.to_national.get(ours, ours) if self.to_national else ours

    def our_code(self, national: str | None) -> str | None:
        if national is None or national == "":
            return None
        return self.from_national.get(national, national) if self.from_national else national


def _identity(name: str, aliases: dict[str, str] | None = None) -> NationalTable:
    """A table whose national codes are ours (民族 GB 3304, 性别 GB/T 2261.1, …)."""
    return NationalTable(name, name, dict(codes.table(name)), aliases=aliases or {})


# 身份证件类型: the national letters against our digits (data/codes.json id_type).
ID_TYPE = NationalTable(
    "id_type", "id_type",
    national={"1": "居民身份证", "6": "香港特区护照/身份证明", "7": "澳门特区护照/身份证明",
              "8": "台湾居民来往大陆通行证", "9": "境外永久居住证", "A": "护照", "Z": "其他"},
    # 港澳台居民居住证 has no national code of its own: 其他. 港澳居民来往内地通行证 is 香港's by default.
    to_national={"1": "1", "2": "Z", "3": "6", "4": "8", "5": "A", "9": "Z"},
    from_national={"1": "1", "6": "3", "7": "3", "8": "4", "9": "9", "A": "5", "Z": "9"},
    # Some local forms offer 户口簿: the number written is the child's 居民身份证号.
    aliases={"户口簿": "1", "身份证": "1", "居民身份证号": "1", "a": "A", "z": "Z", "香港特区护照": "6", "澳门特区护照": "7"},
)

# 健康状况: two-digit codes in the later version, one digit in the earlier one (ours).
HEALTH = NationalTable(
    "health", "health",
    national={"10": "健康或良好", "20": "一般或较弱", "30": "有慢性病", "40": "有生理缺陷", "50": "残疾"},
    to_national={"1": "10", "2": "20", "3": "30", "4": "40", "5": "50"},
    from_national={"10": "1", "20": "2", "30": "3", "40": "4", "50": "5"},
    aliases={"1": "10", "2": "20", "3": "30", "4": "40", "5": "50", "健康": "10", "良好": "10", "一般": "20", "较弱": "20"},
)

# 港澳台侨外: the national list is finer than ours (同胞 and their 亲属, 华侨 and 侨眷 …).
OVERSEAS = NationalTable(
    "overseas", "overseas",
    national={"00": "否", "01": "香港同胞", "02": "香港同胞亲属", "03": "澳门同胞", "04": "澳门同胞亲属",
              "05": "台湾同胞", "06": "台湾同胞亲属", "11": "华侨", "12": "侨眷", "13": "归侨", "14": "归侨子女",
              "21": "归国留学人员", "31": "非华裔中国人", "41": "外籍华裔人", "51": "外国人", "99": "其他"},
    to_national={"0": "00", "1": "01", "2": "03", "3": "05", "4": "11", "5": "51"},
    from_national={"00": "0", "01": "1", "02": "1", "03": "2", "04": "2", "05": "3", "06": "3", "11": "4", "12": "4",
                   "13": "4", "14": "4", "21": "4", "31": "0", "41": "5", "51": "5", "99": "0"},
    aliases={"0": "00", "外籍人士": "51"},
)

# 入学方式 of compulsory education: 11 就近入学, 12 其他; our finer modes are 其他 nationally.
ENROLL_MODE = NationalTable(
    "enroll_mode", "enroll_mode",
    national={"11": "就近入学", "12": "其他"},
    to_national={"1": "11", "2": "12", "3": "12", "4": "12", "5": "12"},
    from_national={"11": "1", "12": "5"},
)

# 国籍/地区: numeric GB/T 2659 in one version (ours), the three letters in the other.
NATIONALITY = NationalTable(
    "nationality", "nationality",
    national=dict(codes.table("nationality")),
    aliases={"CHN": "156", "HKG": "344", "MAC": "446", "TWN": "158", "KOR": "410", "JPN": "392", "RUS": "643",
             "USA": "840", "中华人民共和国": "156"},
)

# Family relations: GB/T 4761 codes nationally, our six kinds (data/codes.json guardian_relation).
RELATION = NationalTable(
    "guardian_relation", "guardian_relation",
    national={"51": "父亲", "52": "母亲", "60": "祖父母或外祖父母", "61": "祖父", "62": "祖母", "63": "外祖父",
              "64": "外祖母", "70": "兄弟姐妹", "71": "哥哥", "73": "弟弟", "75": "姐姐", "77": "妹妹",
              "80": "其他亲属", "99": "其他"},
    to_national={"1": "51", "2": "52", "3": "60", "4": "70", "5": "80", "9": "99"},
    from_national={"51": "1", "52": "2", "60": "3", "61": "3", "62": "3", "63": "3", "64": "3", "70": "4",
                   "71": "4", "73": "4", "75": "4", "77": "4", "80": "5", "99": "9"},
    aliases={"父": "51", "母": "52", "爸爸": "51", "妈妈": "52", "兄": "71", "弟": "73", "姐": "75", "妹": "77"},
)

# 是否留守儿童: the national names are shorter than ours.
LEFT_BEHIND = _identity("left_behind", {"非留守": "0", "单亲留守": "1", "双亲留守": "2"})
HUKOU_TYPE = _identity("hukou_type", {"农业": "1", "非农业": "2"})
POLITICAL_STATUS = _identity("political_status", {"团员": "03", "中国共产主义青年团团员": "03", "党员": "01"})

TABLES: dict[str, NationalTable] = {t.name: t for t in (
    ID_TYPE, HEALTH, OVERSEAS, ENROLL_MODE, NATIONALITY, RELATION, LEFT_BEHIND, HUKOU_TYPE, POLITICAL_STATUS,
    _identity("gender", {"男性": "1", "女性": "2"}),
    _identity("ethnicity", {"汉": "01", "其他民族": "97", "外国血统": "98", "外国血统中国籍人士": "98"}),
    _identity("attendance_mode"),
    _identity("student_source"),
    _identity("disability", {"无残疾": "0"}),
    _identity("inclusive_class"),
    _identity("transport_mode"),
)}


def table(name: str) -> NationalTable:
    return TABLES[name]


@cache
def _lookup(name: str) -> dict[str, str]:
    """Every accepted spelling → national code: the national codes and names, our names, the aliases."""
    t = TABLES[name]
    found: dict[str, str] = {}
    if t.ours is not None:
        for code, label in codes.table(t.ours).items():
            national = t.national_code(code)
            if national is not None:
                found.setdefault(label, national)
    for code, label in t.national.items():
        found[label] = code
    found.update(t.aliases)
    for code in t.national:
        found[code] = code
    return found


def parse(name: str, raw: str | None) -> str | None:
    """The national code of a cell written as a code or a name ("01", "01 汉族", "汉族", 1 for "01");
    None for an empty cell; UnknownCode when it is neither."""
    text = (raw or "").strip()
    if not text:
        return None
    lookup = _lookup(name)
    for candidate in (text, text.split()[0], text.split()[-1], text.upper()):
        if candidate in lookup:
            return lookup[candidate]
    head = text.split()[0]
    if head.isdigit():  # a number cell lost its leading zero
        width = max(len(c) for c in TABLES[name].national)
        if head.zfill(width) in lookup:
            return lookup[head.zfill(width)]
    raise UnknownCode(text)


def national_name(name: str, national: str | None) -> str:
    """The Chinese name of a national code ("" for none)."""
    if not national:
        return ""
    return TABLES[name].national.get(national, national)


def to_national(name: str, ours: str | None) -> str | None:
    return TABLES[name].national_code(ours)


def to_ours(name: str, national: str | None) -> str | None:
    return TABLES[name].our_code(national)


def same_value(name: str, ours: str | None, national: str | None) -> bool:
    """Do our code and the national code say the same, within what either table can say?

    Our 港澳台居民居住证 is the national 其他 (Z); the national 香港同胞亲属 (02) is our 香港同胞: both are
    the same value, for neither side has a finer code to put in its place."""
    return to_national(name, ours) == national or (national is not None and to_ours(name, national) == (ours or None))


# --- 行政区划: 12 digits nationally, the 6 of GB/T 2260 here --------------------------------------
DIVISION_RE = re.compile(r"^\d{6}(\d{6})?$")


def division_to_national(code: str | None) -> str | None:
    """Our 6-digit code padded to the national 12 digits (the township and village part 000000)."""
    return f"{code}000000" if code and len(code) == 6 else (code or None)


def division_from_national(raw: str | None) -> str | None:
    """The 6-digit code of a cell holding 6 or 12 digits (a 12-digit code below the county keeps its county);
    UnknownCode when it is neither."""
    text = re.sub(r"\s+", "", raw or "")
    if not text:
        return None
    head = text.split()[0] if " " in text else text
    if not DIVISION_RE.match(head):
        raise UnknownCode(text)
    return head[:6]


# --- 学籍变动: our change types by the national system's names ------------------------------------
CHANGE_TYPE_NAMES: dict[str, str] = {
    "transfer": "转学", "transfer_out_province": "转出", "transfer_in_province": "转入",
    "enrollment": "新生注册", "delayed_enrollment": "缓学", "correction": "学籍信息变更", "continuation": "学籍接续",
    "suspension": "休学", "suspension_extension": "休学", "resumption": "复学", "abroad": "出国出境",
    "abroad_return": "复学", "death": "死亡", "dropout": "辍学", "dropout_return": "复学",
    "juvenile_placement": "转学", "juvenile_return": "转学", "special_move": "转学", "special_attend": "转学",
    "graduation": "毕业", "record_proof": "学历证明", "class_change": "调班",
}
# Other names the national changes file uses for the same kinds.
CHANGE_TYPE_ALIASES: dict[str, str] = {"转入": "转学", "转出": "转学", "休学延期": "休学", "注册": "新生注册",
                                       "信息变更": "学籍信息变更", "出国": "出国出境", "结业": "毕业"}


def change_kind(name: str | None) -> str:
    """The national change name, folded so that 转入/转出/转学 compare as one kind."""
    text = (name or "").strip()
    text = CHANGE_TYPE_ALIASES.get(text, text)
    return text
