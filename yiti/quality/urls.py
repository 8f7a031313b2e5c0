"""The quality pages."""

from django.urls import URLPattern, path

from yiti.quality import views

app_name = "quality"
urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("ranking/", views.ranking, name="ranking"),
    path("ranking/export.xlsx", views.ranking_export, name="ranking_export"),
    path("compute/", views.compute, name="compute"),
    path("indicators/", views.indicators, name="indicators"),
    path("indicators/<slug:code>/", views.indicator_edit, name="indicator_edit"),
    path("hot/", views.hot, name="hot"),
    path("hot/export.xlsx", views.hot_export, name="hot_export"),
    path("topics/", views.topics, name="topics"),
    path("topics/new/", views.topic_edit, name="topic_create"),
    path("topics/<int:topic_id>/", views.topic_edit, name="topic_edit"),
]
