"""The Simplified Chinese copy reads as written by a native speaker, in the glossary's words.

Users reported a pager that said "上期" (a period) for "Previous", import columns marked "必答"
(a survey word), the value tier labelled 客户群 (a segment) and one English word shown with the
wrong one of its two Chinese meanings. These tests read the catalogue and keep those mistakes
from coming back:

(a) an English word with two meanings in Yiti is always translated with a context (pgettext);
(b) the glossary's terms (../shared/DESIGN.md) are used for the same concept everywhere;
(c) Chinese text uses full-width punctuation between Chinese characters;
(d) placeholders and markup survive translation unchanged.

``YITI_COPY_PO`` may point at another catalogue (e.g. a copy with a review applied) for a trial.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import polib
import pytest

import yiti

PO = Path(
    os.environ.get("YITI_COPY_PO")
    or Path(yiti.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
)

CJK = "[\u4e00-\u9fff]"


@pytest.fixture(scope="module")
def entries() -> list[polib.POEntry]:
    # fuzzy entries are never shown (msgfmt leaves them out); test_translations fails on them
    return [
        e for e in polib.pofile(str(PO)) if not e.obsolete and e.msgid and "fuzzy" not in e.flags
    ]


def chinese(e: polib.POEntry) -> list[str]:
    """Every Chinese form of the entry (one for a singular, the plural forms otherwise)."""
    if e.msgid_plural:
        return [s for s in e.msgstr_plural.values() if s]
    return [e.msgstr] if e.msgstr else []


def show(e: polib.POEntry) -> str:
    where = " ".join(f"{f}:{n}" for f, n in e.occurrences[:2])
    return f"[{e.msgctxt or ''}] {e.msgid!r} → {' | '.join(chinese(e))!r} ({where})"


# --- (a) one English word, two Chinese meanings: always with a context --------------------------

AMBIGUOUS = {
    "Open": "a verb, 打开 (open a page), and a state, 待处理/未结 (a ticket, conflict or call not done)",
    "New": "a ticket just opened, 新建, and a notification not read yet, 未读 (or a tier entered, 新入层)",
    "Opened": "a message the customer opened, 已打开, and when a ticket was opened, 创建时间 "
    "(complaints opened in a report: 新增)",
    "opened": "when a campaign message was opened, 打开时间, and when a ticket was opened, 创建时间",
    "Previous": "the previous page, 上一页, and the previous period of a report, 上期",
    "Next": "the next page, 下一页, and the next step or item, 下一步/下一个",
    "Required": "a survey question that must be answered, 必答, and a field that must be filled, 必填",
    "required": "a survey question that must be answered, 必答, and an import column, 必填",
    "Order": "a purchase, 订单, and a position in a list, 顺序",
    "Period": "a campaign's run, 活动期, and the span of a report, 统计期",
    "Segment": "a campaign's customer group, 客户群, and the next best action's learning cell, 客户细分",
    "segment": "a campaign's customer group, 客户群, and the next best action's learning cell, 客户细分",
    "Change": "the difference between two periods, 变化, and the verb, 修改",
    "Value": "a customer's value, 价值, and the value in a field or cell, 值",
    "Move": "moving a unit in the tree, 移动, and a customer's move between tiers, 迁移",
}


@pytest.mark.parametrize("word", sorted(AMBIGUOUS))
def test_an_ambiguous_word_is_always_translated_with_a_context(entries, word):
    bare = [show(e) for e in entries if e.msgid == word and not e.msgctxt]
    assert not bare, (
        f"“{word}” means {AMBIGUOUS[word]}: use pgettext / "
        f'{{% translate "{word}" context "…" %}}, not the bare word: {bare}'
    )


def test_one_context_never_holds_two_meanings(entries):
    """The same (context, English) pair is one entry; a context named like a meaning is not reused
    for the other meaning (e.g. the pager's "Previous" is 上一页, never 上期)."""
    pager = {e.msgid: e.msgstr for e in entries if e.msgctxt == "page"}
    assert pager.get("Previous", "上一页") == "上一页", pager
    assert pager.get("Next", "下一页") == "下一页", pager
    wrong_period = [
        show(e)
        for e in entries
        if "上期" in e.msgstr and "period" not in (f"{e.msgctxt} {e.msgid}".lower())
    ]
    assert not wrong_period, "上期 is the previous period, not the previous page"


# --- (b) the glossary --------------------------------------------------------------------------

# (English in the msgid, the Chinese the translation must use, why)
GLOSSARY = [
    (
        r"\bcampaigns?\b",
        ("营销活动", "活动", "营销"),
        "campaign is 营销活动 (活动, 营销… in compounds)",
    ),
    (r"\bcomplain(t|ts|ed)\b", ("投诉",), "complaint is 投诉"),
    (r"\bwaves?\b", ("波次", "波"), "wave is 波次 (第 N 波)"),
    (r"\baccount[- ]managers?\b", ("客户经理",), "account manager is 客户经理"),
    (r"\bcontact polic(y|ies)\b", ("接触策略",), "contact policy is 接触策略"),
    (r"\bdo[- ]not[- ]disturb\b", ("免打扰",), "do-not-disturb is 免打扰"),
    (r"\bquiet hours\b", ("免打扰",), "quiet hours are 免打扰时段"),
    (r"\bterritor(y|ies)\b", ("片区",), "territory is 片区"),
    (r"\bsatisfaction\b", ("满意",), "satisfaction is 满意度"),
    (r"\bfollow-ups?\b", ("回访", "跟进"), "follow-up is 回访 (a wave's follow-up: 跟进)"),
    (r"\bcare calls?\b", ("回访",), "a care call is 回访"),
    (r"\bnext best actions?\b", ("下一步最佳行动",), "next best action is 下一步最佳行动"),
    (r"\blifetime value\b", ("终身价值",), "lifetime value is 终身价值"),
    (r"\bunit and product accounting\b", ("分部门分产品核算",), "分部门分产品核算"),
    (
        r"\bsegments?\b",
        ("客户群", "细分"),
        "a segment is 客户群 (the NBA's learning cell: 客户细分)",
    ),
    (r"\bvalue tiers?\b", ("价值分层", "价值层级", "分层"), "a value tier is 价值分层"),
    (r"\bgifts?\b", ("赠品", "赠送"), "a gift is 赠品"),
    (r"\bportal\b", ("营业厅",), "the portal is 网上营业厅 (掌上营业厅 on a phone)"),
    (r"\binteractions?\b", ("接触",), "an interaction is 接触"),
    (r"\bfield (dispatch|trips?)\b", ("出差派遣",), "field dispatch is 出差派遣"),
    (r"\bagents?\b", ("坐席",), "an agent is 坐席"),
    (r"\bexternal[- ]ids?\b", ("外部编号",), "a customer's id in another system is 外部编号"),
]

# Chinese that must not stand for the English word (English regex, forbidden Chinese, why)
FORBIDDEN = [
    (r"\bsegments?\b", ("价值分层", "客群"), "a segment is 客户群, not a value tier or 客群"),
    (r"\btiers?\b", ("客户群",), "a tier is 价值分层, not 客户群 (a segment)"),
    (r"\bcomplain", ("抱怨",), "complaint is 投诉"),
    (r"\bcampaigns?\b", ("战役", "运动"), "a campaign is 营销活动"),
    (
        r"\boffers?\b",
        ("报价", "要约", "提议"),
        "an offer is 营销方案 (优惠 to customers), not a quote",
    ),
    (r"\bgifts?\b", ("礼品",), "a gift is 赠品"),
    (
        r"",
        ("生命周期价值", "最佳下一步动作", "客户门户"),
        "glossary: 终身价值, 下一步最佳行动, 网上营业厅",
    ),
]


def _english(e: polib.POEntry) -> str:
    text = f"{e.msgid} {e.msgid_plural or ''}"
    return re.sub(r"%\([a-z_]+\)[#0\- +]*\d*(?:\.\d+)?[a-zA-Z]|\{[a-z_]+\}", " ", text)


@pytest.mark.parametrize(("english", "chinese_terms", "why"), GLOSSARY)
def test_glossary_terms_are_used(entries, english, chinese_terms, why):
    pattern = re.compile(english, re.IGNORECASE)
    wrong = [
        show(e)
        for e in entries
        if pattern.search(_english(e))
        and chinese(e)
        and not all(any(t in s for t in chinese_terms) for s in chinese(e))
    ]
    assert not wrong, f"{why}: {wrong}"


@pytest.mark.parametrize(("english", "banned", "why"), FORBIDDEN)
def test_glossary_terms_are_not_replaced_by_look_alikes(entries, english, banned, why):
    pattern = re.compile(english, re.IGNORECASE)
    wrong = [
        show(e)
        for e in entries
        if pattern.search(_english(e)) and any(b in s for b in banned for s in chinese(e))
    ]
    assert not wrong, f"{why}: {wrong}"


def test_required_means_must_be_filled_except_in_surveys(entries):
    """必答 is a survey word; forms and import columns are 必填."""
    wrong = [
        show(e)
        for e in entries
        if any("必答" in s for s in chinese(e))
        and not re.search(r"survey|question|answer", f"{e.msgctxt} {e.msgid}", re.IGNORECASE)
    ]
    assert not wrong, wrong


def test_time_units_are_translated_words(entries):
    """The value page once showed “时间单位：day”: the unit is shown through the catalogue."""
    units = {e.msgid: e.msgstr for e in entries if e.msgctxt == "time unit"}
    assert units.get("day") == "天", units
    assert units.get("week") == "周", units


# --- (c) punctuation ---------------------------------------------------------------------------

HALF_WIDTH_BETWEEN = re.compile(f"{CJK}[ ]*[,;:!?][ ]*{CJK}")
HALF_WIDTH_STOP = re.compile(f"{CJK}\\.(?:[ ]|$)")
SPACE_BEFORE_FULL_WIDTH = re.compile(f"{CJK}[ \\t]+[，。：；！？、）]")
SPACE_AFTER_FULL_WIDTH = re.compile(f"[，。：；！？、（][ \\t]+{CJK}")


@pytest.mark.parametrize(
    ("rule", "pattern"),
    [
        ("half-width , ; : ! ? between Chinese characters (use ，；：！？)", HALF_WIDTH_BETWEEN),
        ("a half-width full stop after Chinese (use 。)", HALF_WIDTH_STOP),
        ("a space before full-width punctuation", SPACE_BEFORE_FULL_WIDTH),
        ("a space after full-width punctuation", SPACE_AFTER_FULL_WIDTH),
    ],
)
def test_chinese_punctuation(entries, rule, pattern):
    wrong = [show(e) for e in entries if any(pattern.search(s) for s in chinese(e))]
    assert not wrong, f"{rule}: {wrong}"


# --- (d) placeholders and markup ---------------------------------------------------------------

PYTHON_FORMAT = re.compile(r"%\([A-Za-z_]+\)[#0\- +]*\d*(?:\.\d+)?[a-zA-Z]|%[sd]")
BRACES = re.compile(r"\{[a-z_]+\}")
TAGS = re.compile(r"</?(?:strong|code|em|b|i|a|br|span|kbd)\b")


def _source(e: polib.POEntry) -> str:
    return e.msgid_plural or e.msgid


@pytest.mark.parametrize(
    ("what", "pattern"),
    [("python-format placeholders", PYTHON_FORMAT), ("{braces}", BRACES), ("HTML tags", TAGS)],
)
def test_placeholders_match(entries, what, pattern):
    wrong = [
        f"{show(e)}: {sorted(pattern.findall(_source(e)))} vs {sorted(pattern.findall(s))}"
        for e in entries
        for s in chinese(e)
        if Counter(pattern.findall(_source(e))) != Counter(pattern.findall(s))
        and not (
            e.msgid_plural and Counter(pattern.findall(e.msgid)) == Counter(pattern.findall(s))
        )
    ]
    assert not wrong, f"{what} differ between English and Chinese: {wrong}"


def test_no_stray_percent_in_python_format(entries):
    """A lone % in a python-format translation raises at runtime: write %% for a per cent sign."""
    wrong = [
        show(e)
        for e in entries
        if "python-format" in e.flags
        for s in chinese(e)
        if "%" in re.sub(r"%%|" + PYTHON_FORMAT.pattern, "", s)
    ]
    assert not wrong, wrong
