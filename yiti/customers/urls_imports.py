"""Import jobs of every kind (upload, column mapping, progress, result), mounted at /imports/."""

from django.urls import path

from yiti.customers import import_views

app_name = "imports"
urlpatterns = [
    path("", import_views.index, name="index"),
    path("map/<str:token>/", import_views.mapping, name="map"),
    path("template/<str:kind>.csv", import_views.template, name="template"),
    path("<int:job_id>/", import_views.job, name="job"),
    path("<int:job_id>/errors.csv", import_views.errors_csv, name="errors"),
]
