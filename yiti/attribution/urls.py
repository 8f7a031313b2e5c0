"""The attribution pages."""

from django.urls import URLPattern, path

from yiti.attribution import views

app_name = "attribution"
urlpatterns: list[URLPattern] = [
    path("campaigns/<int:campaign_id>/", views.campaign_attribution, name="campaign"),
    path("campaigns/<int:campaign_id>/models/", views.campaign_models, name="models"),
    path("campaigns/<int:campaign_id>/plan/", views.plan_edit, name="plan_edit"),
]
