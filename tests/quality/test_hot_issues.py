"""Hot issues on a small Chinese corpus: the week's words are segmented with jieba, stop words
dropped, and a term that rises against the week before is found (one that falls is not); the
page and the API show the reader's units only, with the example tickets he may open; topics
chosen on tickets are counted against the week before."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from tests.quality.conftest import _ticket, sh
from yiti.care.models import SurveyAnswer, SurveyQuestion, SurveyResponse, SurveyTemplate
from yiti.customers.services import customer_create
from yiti.quality import themes
from yiti.quality.models import ThemeTerm
from yiti.quality.selectors import hot_issues
from yiti.quality.services import themes_compute
from yiti.service.models import TicketEvent
from yiti.service.topics import topic_save

WEEK_A = date(2026, 11, 16)  # Monday; the week before
WEEK_B = date(2026, 11, 23)  # Monday; the week looked at

BEFORE = [  # week A: broadband speed
    ("宽带网速太慢", "您好，我家的宽带网速一直很慢，晚上看视频卡顿"),
    ("宽带经常断线", "宽带每天断线好几次，请问怎么处理"),
    ("网速慢", "最近宽带网速慢，希望尽快解决"),
    ("宽带故障", "宽带无法上网，麻烦派人检查一下"),
]
AFTER = [  # week B: the campaign's router gift has not arrived
    ("路由器没收到", "您好，办理宽带活动时承诺赠送的路由器一直没有收到"),
    ("赠品未到", "活动送的路由器到现在还没到货，请问什么时候发"),
    ("路由器", "我的路由器赠品迟迟不发货"),
    ("投诉赠品", "说好的路由器呢？已经等了两周"),
    ("宽带慢", "宽带网速有点慢"),
]
STOP = {"您好", "请问", "一直", "已经", "的", "了", "我", "麻烦"}


def test_segmentation_keeps_words_and_drops_stop_words():
    terms = themes.terms_of("您好，办理宽带活动时承诺赠送的路由器一直没有收到")
    assert {"宽带", "路由器", "赠送"} <= terms
    assert not terms & STOP
    assert not any(len(t) < 2 for t in terms)
    assert themes.terms_of("12345 ，。！？ …") == set()
    # personal names (a customer's, an employee's) and phone numbers are never terms
    named = themes.terms_of("我是张三，电话13800138000，王小明经理说路由器下周发货")
    assert "路由器" in named and not {"张三", "王小明", "13800138000"} & named


def test_topic_keywords_stay_whole(org):
    topic_save(actor=None, name="彩铃首月免费", keywords="视频彩铃")
    themes.teach(themes.topic_words())
    assert "视频彩铃" in themes.terms_of("开通视频彩铃后被扣费")


def test_rising_rule_scales_last_week_by_the_volume():
    # 6 of 12 texts this week, 3 of 6 last week: the same share, not rising
    assert themes.rising_terms({"宽带": 6}, {"宽带": 3}, 12, 6) == []
    # 6 this week, none last week: rising; below three texts: too few to say
    rising = themes.rising_terms({"路由器": 6, "账单": 2}, {}, 12, 6)
    assert [r.term for r in rising] == ["路由器"]
    assert rising[0].expected == 0 and rising[0].surprise == 6.0


@pytest.fixture
def corpus(org):
    return build_corpus(org)


def build_corpus(org):
    """Week A: broadband speed; week B: the router gift (rising), mined for both weeks."""
    hz = customer_create(actor=None, name="赵六", unit=org.hz, contacts=[])
    bj = customer_create(actor=None, name="钱七", unit=org.bj, contacts=[])
    tickets = []
    for i, (subject, text) in enumerate(BEFORE):
        tickets.append(
            _ticket(hz, "complaint", sh(2026, 11, 17 + i, 10), subject=subject, description=text)
        )
    for i, (subject, text) in enumerate(AFTER):
        tickets.append(
            _ticket(hz, "complaint", sh(2026, 11, 24 + i, 10), subject=subject, description=text)
        )
    # a reply in week B on a week-A ticket, and a survey answer in week B, both about the router
    TicketEvent.objects.create(
        ticket=tickets[0], kind="reply", at=sh(2026, 11, 24, 15), body="已为您登记路由器补发"
    )
    survey = SurveyTemplate.objects.create(name="回访", code="text-survey")
    question = SurveyQuestion.objects.create(template=survey, kind="text", text="还有什么意见？")
    response = SurveyResponse.objects.create(
        customer=hz, template=survey, channel="call", submitted_at=sh(2026, 11, 26, 11)
    )
    SurveyAnswer.objects.create(response=response, question=question, text="路由器还没寄来")
    # a Beijing complaint about its bill, in week B (another region)
    _ticket(bj, "complaint", sh(2026, 11, 25, 9), subject="账单有误", description="话费账单多扣")
    themes_compute(week=WEEK_A)
    themes_compute(week=WEEK_B)
    return tickets


def test_a_rising_term_is_found_and_stop_words_are_not(org, corpus):
    view = hot_issues(org.users["admin"], week=WEEK_B)
    rising = {r.term: r for r in view.rising}
    assert "路由器" in rising
    router = rising["路由器"]
    # four complaints, the reply on an older ticket and the survey answer; none last week
    assert (router.documents, router.previous) == (6, 0)
    assert "宽带" not in rising  # four texts last week, two this week: falling
    stored = set(ThemeTerm.objects.values_list("term", flat=True))
    assert "宽带" in stored and not stored & STOP
    # the examples are tickets the reader may open, newest first
    assert [e.subject for e in router.examples][:2] == ["投诉赠品", "路由器"]


def test_each_reader_sees_the_terms_of_his_units(org, corpus):
    east = hot_issues(org.users["rm_east"], week=WEEK_B)
    assert "路由器" in {r.term for r in east.rising}
    assert "账单" not in {t for t, _n in east.top}
    north = hot_issues(org.users["rm_north"], week=WEEK_B)
    assert north.rising == [] and {t for t, _n in north.top} >= {"账单"}
    # an analyst reads every unit's terms but opens no ticket: no examples
    analyst = hot_issues(org.users["analyst"], week=WEEK_B)
    router = next(r for r in analyst.rising if r.term == "路由器")
    assert router.examples == []


def test_topics_chosen_on_tickets_are_counted_against_the_week_before(org, corpus):
    topic = topic_save(actor=org.users["admin"], name="赠品未到货", applies_to="complaint")
    for ticket in corpus[4:7]:
        ticket.topic = topic
        ticket.save(update_fields=["topic"])
    corpus[0].topic = topic
    corpus[0].save(update_fields=["topic"])
    view = hot_issues(org.users["svc_east"], week=WEEK_B)
    counts = {t.name: t for t in view.topics}
    assert (counts["赠品未到货"].tickets, counts["赠品未到货"].previous) == (3, 1)
    assert len(counts["赠品未到货"].examples) == 3


def test_the_page_and_the_api(org, corpus):
    client = Client()
    assert client.login(username="rm_east", password=PASSWORD)
    html = client.get("/quality/hot/", {"week": "2026-11-25"}).content.decode()
    assert "路由器" in html and "投诉赠品" in html
    client.login(username="am_hz", password=PASSWORD)
    assert client.get("/quality/hot/").status_code == 403
    from yiti.org.services import token_create

    _t, raw = token_create(user=org.users["rm_east"], name="t")
    body = client.get(
        "/api/v1/quality/rising-topics",
        {"week": "2026-11-23"},
        headers={"Authorization": f"Bearer {raw}"},
    ).json()
    assert body["week"] == "2026-11-23"
    assert "路由器" in [r["term"] for r in body["rising"]]


def test_the_hot_issues_export_to_xlsx(org, corpus):
    from io import BytesIO

    from openpyxl import load_workbook

    client = Client()
    assert client.login(username="rm_east", password=PASSWORD)
    response = client.get("/quality/hot/export.xlsx", {"week": "2026-11-23"})
    assert response.status_code == 200
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    router = next(r for r in rows if r[0] == "路由器")
    assert router[1:3] == (6, 0)
