"""Forms: a call attempt with the survey inline, the customer's survey page, cancelling."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from yiti.care.choices import AttemptOutcome, QuestionKind
from yiti.care.models import SurveyQuestion, SurveyTemplate

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
        initial=AttemptOutcome.REACHED,
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
