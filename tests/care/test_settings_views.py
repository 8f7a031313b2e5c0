"""Care settings pages: follow-up rules and survey templates, for administrators and region
managers only. Every change goes through the services and is audited."""

from __future__ import annotations

from yiti.care.models import FollowUpRule, SurveyQuestion, SurveyTemplate
from yiti.care.services import QuestionInput, survey_template_create
from yiti.core.models import AuditEvent


def _rule_data(**overrides):
    data = {
        "name": "Complaint calls",
        "trigger": "complaint_resolved",
        "due_business_days": "2",
        "second_after_days": "5",
        "survey_template": "",
        "max_attempts": "4",
        "starts_at": "2026-01-01T09:00",
        "lookback_days": "7",
        "active": "on",
    }
    data.update(overrides)
    return data


def _survey_data(questions, **overrides):
    """The survey form with its questions formset; ``questions`` are dicts of row fields."""
    data = {
        "name": "Repair call",
        "code": "repair-call",
        "dissatisfied_at_or_below": "2",
        "link_valid_days": "14",
        "intro": "",
        "thanks": "Thank you!",
        "active": "on",
        "questions-TOTAL_FORMS": str(len(questions)),
        "questions-INITIAL_FORMS": str(sum(1 for q in questions if q.get("id"))),
        "questions-MIN_NUM_FORMS": "0",
        "questions-MAX_NUM_FORMS": "1000",
    }
    for i, question in enumerate(questions):
        row = {"target": "", "complaint_class": "", "required": "on", **question}
        for key, value in row.items():
            if value is not None:
                data[f"questions-{i}-{key}"] = str(value)
    data.update(overrides)
    return data


# --- follow-up rules ---------------------------------------------------------------------------


def test_region_manager_creates_and_edits_a_followup_rule(client, org):
    client.force_login(org.users["rm_east"])
    assert "/care/rules/" in client.get("/care/").content.decode()
    assert client.get("/care/rules/new/").status_code == 200

    response = client.post("/care/rules/new/", _rule_data())

    assert response.status_code == 302 and response["Location"] == "/care/rules/"
    rule = FollowUpRule.objects.get()
    assert (rule.trigger, rule.due_business_days, rule.second_after_days) == (
        "complaint_resolved",
        2,
        5,
    )
    assert (rule.max_attempts, rule.lookback_days, rule.active) == (4, 7, True)
    assert "Complaint calls" in client.get("/care/rules/").content.decode()

    edit = client.get(f"/care/rules/{rule.pk}/edit/").content.decode()
    assert 'value="Complaint calls"' in edit
    data = _rule_data(due_business_days="3")
    del data["active"]
    response = client.post(f"/care/rules/{rule.pk}/edit/", data)

    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.due_business_days, rule.active) == (3, False)
    created = AuditEvent.objects.get(action="care.rule_create")
    updated = AuditEvent.objects.get(action="care.rule_update")
    assert created.actor == updated.actor == org.users["rm_east"]
    assert updated.changes == {"active": [True, False], "due_business_days": [2, 3]}


def test_a_rule_error_is_shown_next_to_the_field_and_nothing_is_saved(client, org):
    client.force_login(org.users["rm_east"])

    # only complaint follow-ups have a second call: the service says so
    response = client.post("/care/rules/new/", _rule_data(trigger="repair_resolved"))

    assert response.status_code == 422
    assert "Only complaint follow-ups have a second call." in response.content.decode()
    assert not FollowUpRule.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="care.rule").exists()


def test_care_agents_may_not_manage_rules_or_surveys(client, org):
    client.force_login(org.users["care_east"])

    assert "/care/rules/" not in client.get("/care/").content.decode()
    for url in ("/care/rules/", "/care/rules/new/", "/care/surveys/", "/care/surveys/new/"):
        assert client.get(url).status_code == 403, url
    assert client.post("/care/rules/new/", _rule_data()).status_code == 403
    assert not FollowUpRule.objects.exists()


# --- surveys -----------------------------------------------------------------------------------


def test_region_manager_creates_a_survey_with_its_questions(client, org):
    client.force_login(org.users["rm_east"])
    assert client.get("/care/surveys/new/").status_code == 200

    response = client.post(
        "/care/surveys/new/",
        _survey_data(
            [
                {"kind": "csat", "text": "How satisfied are you?", "position": "10"},
                {"kind": "nps", "text": "Would you recommend us?", "target": "service"},
                {"kind": "", "text": "", "required": "on"},  # a blank extra row
            ],
            dissatisfied_at_or_below="3",
        ),
    )

    assert response.status_code == 302 and response["Location"] == "/care/surveys/"
    survey = SurveyTemplate.objects.get(code="repair-call")
    assert survey.dissatisfied_at_or_below == 3
    assert [(q.kind, q.text, q.target) for q in survey.questions.all()] == [
        ("csat", "How satisfied are you?", ""),
        ("nps", "Would you recommend us?", "service"),
    ]
    event = AuditEvent.objects.get(action="care.survey_template_create")
    assert event.actor == org.users["rm_east"] and event.object_id == str(survey.pk)
    assert "Repair call" in client.get("/care/surveys/").content.decode()


def test_editing_a_survey_changes_adds_and_removes_questions(client, org):
    survey = survey_template_create(
        actor=None,
        name="Repair call",
        code="repair-call",
        questions=[
            QuestionInput(kind="csat", text="How satisfied are you?"),
            QuestionInput(kind="text", text="Anything else?", required=False),
        ],
    )
    keep, drop = survey.questions.all()
    client.force_login(org.users["rm_east"])
    assert "Anything else?" in client.get(f"/care/surveys/{survey.pk}/edit/").content.decode()

    response = client.post(
        f"/care/surveys/{survey.pk}/edit/",
        _survey_data(
            [
                {"id": keep.pk, "kind": "csat", "text": "Rate the repair", "position": "20"},
                {"id": drop.pk, "kind": "text", "text": "Anything else?", "DELETE": "on"},
                {"kind": "nps", "text": "Would you recommend us?", "position": "10"},
            ],
            dissatisfied_at_or_below="1",
        ),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    survey.refresh_from_db()
    assert survey.dissatisfied_at_or_below == 1
    assert [(q.kind, q.text) for q in survey.questions.all()] == [
        ("nps", "Would you recommend us?"),
        ("csat", "Rate the repair"),
    ]
    assert not SurveyQuestion.objects.filter(pk=drop.pk).exists()
    event = AuditEvent.objects.get(action="care.survey_template_update")
    assert event.actor == org.users["rm_east"]
    assert event.changes["dissatisfied_at_or_below"] == [2, 1]
    assert "questions" in event.changes


def test_a_survey_without_questions_is_refused_on_the_page(client, org):
    client.force_login(org.users["rm_east"])

    response = client.post("/care/surveys/new/", _survey_data([{"kind": "", "text": ""}]))

    assert response.status_code == 422
    assert "A survey needs at least one question." in response.content.decode()
    assert not SurveyTemplate.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="care.survey").exists()


def test_a_threshold_outside_the_csat_scale_is_shown_next_to_the_field(client, org):
    client.force_login(org.users["admin"])

    response = client.post(
        "/care/surveys/new/",
        _survey_data([{"kind": "csat", "text": "How satisfied?"}], dissatisfied_at_or_below="6"),
    )

    assert response.status_code == 422
    assert "has-error" in response.content.decode()
    assert not SurveyTemplate.objects.exists()


def test_a_question_with_answers_cannot_be_removed(org, care, customer, client):
    from yiti.care.models import SurveyAnswer, SurveyResponse

    survey = care.survey
    first = survey.questions.first()
    response = SurveyResponse.objects.create(customer=customer, template=survey, channel="call")
    SurveyAnswer.objects.create(response=response, question=first, score=4)
    rows = [
        {"id": q.pk, "kind": q.kind, "text": q.text, "DELETE": "on" if q == first else None}
        for q in survey.questions.all()
    ]
    client.force_login(org.users["rm_east"])

    page = client.post(
        f"/care/surveys/{survey.pk}/edit/",
        _survey_data(rows, name=survey.name, code=survey.code),
    )

    assert page.status_code == 422
    assert "cannot be removed" in page.content.decode()
    assert SurveyQuestion.objects.filter(pk=first.pk).exists()
