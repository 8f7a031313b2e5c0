from django.urls import path

from yiti.decisions import views

app_name = "decisions"
urlpatterns = [
    path("", views.value_page, name="value"),
    path("refit/", views.refit, name="refit"),
    path("fits/status/", views.fits_status, name="fits_status"),
    path("settings/", views.value_settings, name="settings"),
]
