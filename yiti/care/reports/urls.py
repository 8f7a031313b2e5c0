from django.urls import path

from yiti.care.reports import views

app_name = "care_reports"
urlpatterns = [
    path("", views.snapshot_list, name="list"),
    path("generate/", views.generate, name="generate"),
    path("<int:snapshot_id>/", views.snapshot_detail, name="detail"),
    path("<int:snapshot_id>/status/", views.snapshot_status, name="status"),
    path("<int:snapshot_id>/export.xlsx", views.snapshot_export, name="export"),
]
