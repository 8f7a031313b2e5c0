from django.urls import path

from yiti.care import views

app_name = "care"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("tasks/<int:task_id>/", views.task_detail, name="task"),
    path("tasks/<int:task_id>/attempt/", views.attempt_create, name="attempt"),
    path("tasks/<int:task_id>/link/", views.link_create, name="link"),
    path("tasks/<int:task_id>/cancel/", views.task_cancel, name="cancel"),
    path("s/<str:token>/", views.survey_public, name="survey"),
]
