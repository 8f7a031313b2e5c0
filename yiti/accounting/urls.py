"""The accounting pages."""

from django.urls import URLPattern, path

from yiti.accounting import views

app_name = "accounting"
urlpatterns: list[URLPattern] = [
    path("", views.results, name="index"),
    path("export.xlsx", views.results_export, name="export"),
    path("scorecards/", views.scorecards, name="scorecards"),
    path("contact-costs/", views.contact_costs, name="contact_costs"),
    path("campaigns/<int:campaign_id>/costs/", views.campaign_costs, name="campaign_costs"),
]
