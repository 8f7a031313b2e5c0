from django.urls import path

from yiti.care import handover_views, views

app_name = "care"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("tasks/<int:task_id>/", views.task_detail, name="task"),
    path("tasks/<int:task_id>/attempt/", views.attempt_create, name="attempt"),
    path("tasks/<int:task_id>/link/", views.link_create, name="link"),
    path("tasks/<int:task_id>/cancel/", views.task_cancel, name="cancel"),
    path("handovers/", handover_views.handover_list, name="handovers"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/new/", views.rule_edit, name="rule_create"),
    path("rules/<int:rule_id>/edit/", views.rule_edit, name="rule_edit"),
    path("surveys/", views.survey_list, name="surveys"),
    path("surveys/new/", views.survey_edit, name="survey_create"),
    path("surveys/<int:template_id>/edit/", views.survey_edit, name="survey_edit"),
    path("s/<str:token>/", views.survey_public, name="survey"),
]
