"""Customer care: follow-up rules, care tasks and their call attempts, surveys and answers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from yiti.care.choices import (
    AttemptOutcome,
    QuestionKind,
    QuestionTarget,
    ResponseChannel,
    TaskKind,
    TaskStatus,
    Trigger,
)
from yiti.core.models import TimeStampedModel
from yiti.customers.models import Customer, Order
from yiti.org.models import OrgUnit
from yiti.service.choices import ComplaintClass
from yiti.service.models import Ticket


class SurveyTemplate(TimeStampedModel):
    """A questionnaire asked in a care call or through the customer link.

    ``dissatisfied_at_or_below``: a satisfaction (CSAT) answer at or below it opens a complaint.
    """

    name = models.CharField(_("name"), max_length=120)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    intro = models.TextField(_("introduction"), blank=True)
    thanks = models.TextField(_("thank-you text"), blank=True)
    dissatisfied_at_or_below = models.PositiveSmallIntegerField(
        _("dissatisfied at or below (CSAT)"), default=2
    )
    link_valid_days = models.PositiveSmallIntegerField(_("link valid for (days)"), default=14)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("survey template")
        verbose_name_plural = _("survey templates")
        constraints = [
            models.CheckConstraint(
                condition=Q(dissatisfied_at_or_below__lte=5), name="survey_threshold_in_csat_range"
            ),
            models.CheckConstraint(
                condition=Q(link_valid_days__gt=0), name="survey_link_days_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SurveyQuestion(models.Model):
    """One question. ``target`` says whom it rates (the order call rates sales and service apart);
    ``complaint_class`` overrides the class of the complaint a dissatisfied answer opens."""

    template = models.ForeignKey(SurveyTemplate, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(_("order"), default=10)
    kind = models.CharField(_("kind"), max_length=8, choices=QuestionKind.choices)
    text = models.CharField(_("question"), max_length=255)
    target = models.CharField(
        _("rates"), max_length=8, choices=QuestionTarget.choices, blank=True, default=""
    )
    complaint_class = models.CharField(
        _("complaint class when dissatisfied"),
        max_length=16,
        choices=ComplaintClass.choices,
        blank=True,
        help_text=_("Blank: staff conduct for sales/service questions, else by the task's source."),
    )
    required = models.BooleanField(pgettext_lazy("survey question", "required"), default=True)

    class Meta:
        ordering = ["template_id", "position", "id"]
        verbose_name = _("survey question")
        verbose_name_plural = _("survey questions")

    def __str__(self) -> str:
        return self.text


class FollowUpRule(TimeStampedModel):
    """Which event creates which care call, due how many business days later.

    A complaint rule with ``second_after_days`` also creates a second follow-up that many
    business days after the first call is done. The sweep looks ``lookback_days`` back, but
    never before ``starts_at``, so switching a rule on does not call every customer of the
    imported history.
    """

    name = models.CharField(_("name"), max_length=120)
    trigger = models.CharField(_("trigger"), max_length=24, choices=Trigger.choices)
    due_business_days = models.PositiveSmallIntegerField(_("due within (business days)"), default=3)
    second_after_days = models.PositiveSmallIntegerField(
        _("second follow-up after (business days)"),
        default=0,
        help_text=_("0: no second follow-up."),
    )
    survey_template = models.ForeignKey(
        SurveyTemplate,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rules",
        verbose_name=_("survey"),
    )
    max_attempts = models.PositiveSmallIntegerField(_("attempts before escalation"), default=3)
    starts_at = models.DateTimeField(
        _("applies from"),
        default=timezone.now,
        help_text=_("Events before this time (e.g. imported history) never get a call."),
    )
    lookback_days = models.PositiveSmallIntegerField(
        _("look back (days)"),
        default=14,
        help_text=_("The sweep considers events this many days back."),
    )
    sample_size = models.PositiveIntegerField(
        _("handover: customers called per reassignment"),
        default=20,
        help_text=_("A random sample of the customers one bulk reassignment handed over."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["trigger", "name"]
        verbose_name = _("follow-up rule")
        verbose_name_plural = _("follow-up rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(max_attempts__gt=0), name="rule_max_attempts_positive"
            ),
            models.CheckConstraint(condition=Q(lookback_days__gt=0), name="rule_lookback_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class CareTask(TimeStampedModel):
    """One care call to make: its source (a ticket or an order), the agent, due time, status.

    Unique per rule, source and kind, so the sweep can run any number of times. A retention
    call (a most valuable customer at risk, created by the value refit) has no ticket or
    order: its source is the customer's value scores, and a customer has at most one open
    retention call per rule. A follow-up call accepted while serving the customer (the next
    best action) may have no source either; at most one such is open per rule and customer.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="care_tasks")
    rule = models.ForeignKey(FollowUpRule, on_delete=models.PROTECT, related_name="tasks")
    kind = models.CharField(_("kind"), max_length=16, choices=TaskKind.choices)
    ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="care_tasks",
        verbose_name=_("source ticket"),
    )
    order = models.ForeignKey(
        Order,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="care_tasks",
        verbose_name=_("source order"),
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="followups"
    )
    source_at = models.DateTimeField(_("resolved / fulfilled"))
    unit = models.ForeignKey(
        OrgUnit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("care unit"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="care_tasks",
        verbose_name=_("care agent"),
    )
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(
        _("status"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=AttemptOutcome.choices, blank=True
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    complaint_ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("complaint opened"),
    )
    # a handover call: the bulk reassignment (``customers.Assignment.batch``) it samples
    batch = models.CharField(_("reassignment"), max_length=32, blank=True, default="")

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("care task")
        verbose_name_plural = _("care tasks")
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "ticket", "kind"],
                condition=Q(ticket__isnull=False),
                name="care_task_unique_ticket",
            ),
            models.UniqueConstraint(
                fields=["rule", "order", "kind"],
                condition=Q(order__isnull=False),
                name="care_task_unique_order",
            ),
            models.CheckConstraint(
                condition=(Q(ticket__isnull=False) & Q(order__isnull=True))
                | (Q(ticket__isnull=True) & Q(order__isnull=False))
                | (
                    Q(kind__in=[TaskKind.RETENTION, TaskKind.FIRST, TaskKind.HANDOVER])
                    & Q(ticket__isnull=True)
                    & Q(order__isnull=True)
                ),
                name="care_task_one_source",
            ),
            models.UniqueConstraint(
                fields=["rule", "customer"],
                condition=Q(kind=TaskKind.RETENTION, status=TaskStatus.OPEN),
                name="care_task_one_open_retention",
            ),
            models.UniqueConstraint(
                fields=["rule", "batch", "customer"],
                condition=~Q(batch=""),
                name="care_task_unique_handover",
            ),
            # a follow-up asked for while serving the customer, without a ticket or order
            models.UniqueConstraint(
                fields=["rule", "customer"],
                condition=Q(
                    kind=TaskKind.FIRST,
                    status=TaskStatus.OPEN,
                    ticket__isnull=True,
                    order__isnull=True,
                ),
                name="care_task_one_open_requested",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="care_task_status_due"),
            models.Index(fields=["assignee", "status", "due_at"], name="care_task_assignee"),
            models.Index(fields=["unit", "status", "due_at"], name="care_task_unit"),
            models.Index(fields=["customer", "status"], name="care_task_customer"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} · {self.customer_id}"

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.OPEN


class CareAttempt(models.Model):
    """One call attempt on a care task. Append-only; each also lands on the timeline."""

    task = models.ForeignKey(CareTask, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(_("at"))
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("agent"),
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=AttemptOutcome.choices)
    note = models.TextField(_("note"), blank=True)
    interaction_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("care attempt")
        verbose_name_plural = _("care attempts")
        indexes = [
            models.Index(fields=["task", "at"], name="care_attempt_task"),
            models.Index(fields=["at"], name="care_attempt_at"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} {self.outcome} {self.at:%Y-%m-%d %H:%M}"


class SurveyResponse(TimeStampedModel):
    """One filled (or, for a link, still open) questionnaire of a customer."""

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="survey_responses"
    )
    template = models.ForeignKey(SurveyTemplate, on_delete=models.PROTECT, related_name="responses")
    task = models.ForeignKey(
        CareTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=ResponseChannel.choices)
    token = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    expires_at = models.DateTimeField(_("link expires"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dissatisfied = models.BooleanField(_("dissatisfied"), default=False)
    complaint_ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        indexes = [
            models.Index(fields=["customer", "-submitted_at"], name="survey_response_customer"),
            models.Index(fields=["submitted_at"], name="survey_response_submitted"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(channel=ResponseChannel.LINK) | Q(token__isnull=False),
                name="survey_link_has_token",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} · {self.customer_id}"


class SurveyAnswer(models.Model):
    """The answer to one question: a score (CSAT 1–5, NPS 0–10) or a text."""

    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(SurveyQuestion, on_delete=models.PROTECT, related_name="answers")
    score = models.SmallIntegerField(_("score"), null=True, blank=True)
    text = models.TextField(_("answer"), blank=True)

    class Meta:
        ordering = ["response_id", "question__position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="survey_answer_unique"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=10),
                name="survey_answer_score_range",
            ),
        ]
        indexes = [models.Index(fields=["question", "score"], name="survey_answer_question")]

    def __str__(self) -> str:
        return f"{self.question_id}: {self.score if self.score is not None else self.text[:30]}"
