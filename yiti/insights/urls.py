"""The insights pages."""

from django.urls import URLPattern, path

from yiti.insights import cockpit_views

app_name = "insights"
urlpatterns: list[URLPattern] = [
    path("", cockpit_views.cockpit, name="cockpit"),
    path("export/<slug:chart>.xlsx", cockpit_views.cockpit_export, name="cockpit_export"),
    path("records/<slug:kind>/", cockpit_views.records, name="records"),
    path("reports/", cockpit_views.reports, name="cockpit_reports"),
]
