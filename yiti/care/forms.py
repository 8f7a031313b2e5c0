"""Forms: a call attempt with the survey inline, the customer's survey page, cancelling."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from yiti.care.choices import AttemptOutcome, QuestionKind, QuestionTarget, Trigger
from yiti.care.models import FollowUpRule, SurveyQuestion, SurveyTemplate
from yiti.service.choices import ComplaintClass

CSAT_CHOICES = [(str(i), str(i)) for i in range(1, 6)]
NPS_CHOICES = [(str(i), str(i)) for i in range(0, 11)]


def question_field(question: SurveyQuestion, *, required: bool) -> forms.Field:
    label = question.text
    if question.target:
        label = f"{question.text} ({question.get_target_display()})"
    if question.kind == QuestionKind.CSAT:
        return forms.ChoiceField(
            label=label,
            choices=CSAT_CHOICES,
            required=required,
            widget=forms.RadioSelect(attrs={"class": "scale scale-csat"}),
            help_text=_("1 very dissatisfied … 5 very satisfied"),
        )
    if question.kind == QuestionKind.NPS:
        return forms.ChoiceField(
            label=label,
            choices=NPS_CHOICES,
            required=required,
            widget=forms.RadioSelect(attrs={"class": "scale scale-nps"}),
            help_text=_("0 not at all likely … 10 extremely likely"),
        )
    return forms.CharField(
        label=label,
        required=required,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class SurveyFieldsMixin:
    """Adds one field ``q<id>`` per question of the template."""

    fields: dict[str, forms.Field]
    cleaned_data: dict[str, Any]

    def add_questions(self, template: SurveyTemplate | None, *, required: bool) -> None:
        self.question_names: list[str] = []
        if template is None:
            return
        for question in template.questions.all():
            name = f"q{question.pk}"
            self.fields[name] = question_field(question, required=required and question.required)
            self.question_names.append(name)

    def question_fields(self) -> list[Any]:
        return [self[name] for name in self.question_names]  # type: ignore[index]

    def answers(self) -> dict[int, Any]:
        """Non-blank answers by question id."""
        result: dict[int, Any] = {}
        for name in self.question_names:
            value = self.cleaned_data.get(name)
            if value not in (None, ""):
                result[int(name[1:])] = value
        return result


class AttemptForm(SurveyFieldsMixin, forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=AttemptOutcome.choices,
        widget=forms.RadioSelect,
        # nothing preselected: a hurried save must not record a reached call
        error_messages={"required": _("Choose the outcome of the call.")},
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, template: SurveyTemplate | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.add_questions(template, required=False)


class SurveyForm(SurveyFieldsMixin, forms.Form):
    def __init__(self, *args: Any, template: SurveyTemplate, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.add_questions(template, required=True)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255)


# --- settings: follow-up rules and survey templates -----------------------------------------


class FollowUpRuleForm(forms.Form):
    """A follow-up rule. A plain form, so the rule in memory stays as stored until it is saved."""

    name = forms.CharField(label=_("Name"), max_length=120)
    trigger = forms.ChoiceField(label=_("Trigger"), choices=Trigger.choices)
    due_business_days = forms.IntegerField(
        label=_("Due within (business days)"), min_value=0, initial=3
    )
    second_after_days = forms.IntegerField(
        label=_("Second follow-up after (business days)"),
        min_value=0,
        initial=0,
        help_text=_("Complaints only; 0: no second follow-up."),
    )
    survey_template = forms.ModelChoiceField(
        label=_("Survey"),
        queryset=SurveyTemplate.objects.order_by("name"),
        required=False,
        empty_label=_("No survey"),
    )
    max_attempts = forms.IntegerField(label=_("Attempts before escalation"), min_value=1, initial=3)
    starts_at = forms.DateTimeField(
        label=_("Applies from"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Events before this time never get a call. Blank: now."),
    )
    lookback_days = forms.IntegerField(
        label=_("Look back (days)"),
        min_value=1,
        initial=14,
        help_text=_("The sweep considers events this many days back."),
    )
    sample_size = forms.IntegerField(
        label=_("Handover: customers called per reassignment"),
        min_value=1,
        max_value=10000,
        initial=20,
        required=False,
        help_text=_("Handover rules only: a random sample of each bulk reassignment."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def clean_sample_size(self) -> int:
        return self.cleaned_data.get("sample_size") or 20

    @staticmethod
    def initial_for(rule: FollowUpRule | None) -> dict[str, Any]:
        if rule is None:
            return {}
        return {
            "name": rule.name,
            "trigger": rule.trigger,
            "due_business_days": rule.due_business_days,
            "second_after_days": rule.second_after_days,
            "survey_template": rule.survey_template_id,
            "max_attempts": rule.max_attempts,
            "starts_at": timezone.localtime(rule.starts_at),
            "lookback_days": rule.lookback_days,
            "sample_size": rule.sample_size,
            "active": rule.active,
        }


class SurveyTemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    code = forms.SlugField(
        label=_("Code"),
        max_length=40,
        help_text=_("Short unique name in letters, digits and dashes, e.g. repair-csat."),
    )
    dissatisfied_at_or_below = forms.IntegerField(
        label=_("Dissatisfied at or below (1–5)"),
        min_value=1,
        max_value=5,
        initial=2,
        help_text=_("A satisfaction answer at or below this score opens a complaint."),
    )
    link_valid_days = forms.IntegerField(
        label=_("Customer link valid for (days)"), min_value=1, initial=14
    )
    intro = forms.CharField(
        label=_("Introduction"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    thanks = forms.CharField(
        label=_("Thank-you text"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    @staticmethod
    def initial_for(template: SurveyTemplate | None) -> dict[str, Any]:
        if template is None:
            return {}
        return {name: getattr(template, name) for name in SurveyTemplateForm.base_fields}


class QuestionForm(forms.Form):
    """One row of the questions formset; rows left blank are ignored."""

    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    position = forms.IntegerField(
        label=pgettext_lazy("position", "Order"), min_value=0, required=False
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", "—"), *QuestionKind.choices])
    text = forms.CharField(label=_("Question"), max_length=255)
    target = forms.ChoiceField(label=_("Rates"), choices=QuestionTarget.choices, required=False)
    complaint_class = forms.ChoiceField(
        label=_("Complaint class when dissatisfied"),
        choices=[("", "—"), *ComplaintClass.choices],
        required=False,
    )
    required = forms.BooleanField(
        label=pgettext_lazy("survey question", "Required"), required=False, initial=True
    )


QuestionFormSet = forms.formset_factory(QuestionForm, extra=2, can_delete=True)


def question_initial(template: SurveyTemplate | None) -> list[dict[str, Any]]:
    if template is None:
        return []
    return [
        {
            "id": q.pk,
            "position": q.position,
            "kind": q.kind,
            "text": q.text,
            "target": q.target,
            "complaint_class": q.complaint_class,
            "required": q.required,
        }
        for q in template.questions.order_by("position", "id")
    ]
