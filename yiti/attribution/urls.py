"""The attribution pages."""

from django.urls import URLPattern

app_name = "attribution"
urlpatterns: list[URLPattern] = []
