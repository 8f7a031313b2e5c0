"""The customer's response link and open pixel, mounted at ``c/`` (no sign-in)."""

from django.urls import path

from yiti.campaigns import public_views

app_name = "campaign_response"
urlpatterns = [
    path("<str:token>/", public_views.response_page, name="page"),
    path("<str:token>/o.gif", public_views.open_pixel, name="pixel"),
]
