"""Contact policy administration (rules, quiet hours, do-not-disturb), mounted at /policy/."""

from django.urls import path

from yiti.campaigns import policy_views

app_name = "policy"
urlpatterns = [
    path("", policy_views.index, name="index"),
    path("rules/new/", policy_views.rule_edit, name="rule_create"),
    path("rules/new/impact/", policy_views.rule_impact, name="rule_create_impact"),
    path("rules/<int:rule_id>/", policy_views.rule_edit, name="rule_edit"),
    path("rules/<int:rule_id>/impact/", policy_views.rule_impact, name="rule_impact"),
    path("quiet-hours/new/", policy_views.quiet_edit, name="quiet_create"),
    path("quiet-hours/<int:quiet_id>/", policy_views.quiet_edit, name="quiet_edit"),
    path("do-not-disturb/", policy_views.dnd, name="dnd"),
    path("do-not-disturb/add/", policy_views.dnd_add, name="dnd_add"),
    path("do-not-disturb/<int:suppression_id>/lift/", policy_views.dnd_lift, name="dnd_lift"),
]
