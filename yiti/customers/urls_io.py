"""Import and export pages, mounted at /customers/io/."""

from django.urls import path

from yiti.customers import io_views

app_name = "customers_io"
urlpatterns = [
    path("import/", io_views.import_page, name="import"),
    path("import/template.csv", io_views.import_template, name="import_template"),
    path("import/<int:job_id>/", io_views.import_result, name="import_result"),
    path("import/<int:job_id>/errors.csv", io_views.import_errors_csv, name="import_errors"),
    path("export/", io_views.export, name="export"),
]
