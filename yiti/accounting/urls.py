"""The accounting pages."""

from django.urls import URLPattern

app_name = "accounting"
urlpatterns: list[URLPattern] = []
