from django.urls import path

from yiti.decisions import nba_views, views

app_name = "decisions"
urlpatterns = [
    path("", views.value_page, name="value"),
    path("refit/", views.refit, name="refit"),
    path("fits/status/", views.fits_status, name="fits_status"),
    path("settings/", views.value_settings, name="settings"),
    path("nba/<int:customer_id>/", nba_views.nba_panel, name="nba_panel"),
    path("nba/<int:customer_id>/outcome/", nba_views.nba_outcome, name="nba_outcome"),
    path("nba/<int:customer_id>/accept/", nba_views.nba_accept, name="nba_accept"),
    path("nba/undo/<int:outcome_id>/", nba_views.nba_undo, name="nba_undo"),
    path("propensities/", nba_views.propensities_page, name="propensities"),
]
