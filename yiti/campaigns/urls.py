from django.urls import path

from yiti.campaigns import call_views, offer_views, segment_views, views, wave_views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_edit, name="create"),
    path("<int:campaign_id>/", views.campaign_detail, name="detail"),
    path("<int:campaign_id>/edit/", views.campaign_edit, name="edit"),
    path("<int:campaign_id>/submit/", views.campaign_submit, name="submit"),
    path("<int:campaign_id>/to-draft/", views.campaign_to_draft, name="to_draft"),
    path("<int:campaign_id>/launch/", views.campaign_launch, name="launch"),
    path("<int:campaign_id>/pause/", views.campaign_pause, name="pause"),
    path("<int:campaign_id>/resume/", views.campaign_resume, name="resume"),
    path("<int:campaign_id>/complete/", views.campaign_complete, name="complete"),
    path("<int:campaign_id>/conflicts/check/", views.conflicts_check, name="conflicts_check"),
    path(
        "<int:campaign_id>/conflicts/<int:conflict_id>/accept/",
        views.conflict_accept,
        name="conflict_accept",
    ),
    path("<int:campaign_id>/checklist/<int:item_id>/sign/", views.checklist_sign, name="sign"),
    path(
        "<int:campaign_id>/checklist/<int:item_id>/unsign/",
        views.checklist_unsign,
        name="unsign",
    ),
    path("<int:campaign_id>/waves/new/", wave_views.wave_create, name="wave_create"),
    path("waves/<int:wave_id>/edit/", wave_views.wave_edit, name="wave_edit"),
    path("waves/<int:wave_id>/delete/", wave_views.wave_delete, name="wave_delete"),
    path("waves/<int:wave_id>/preview/", wave_views.wave_preview, name="wave_preview"),
    path("waves/<int:wave_id>/plan/", wave_views.wave_plan_view, name="wave_plan"),
    path("waves/<int:wave_id>/deliveries/", wave_views.wave_deliveries, name="deliveries"),
    path("offers/", offer_views.offer_list, name="offers"),
    path("offers/new/", offer_views.offer_edit, name="offer_create"),
    path("offers/<int:offer_id>/edit/", offer_views.offer_edit, name="offer_edit"),
    path("segments/", segment_views.segment_list, name="segments"),
    path("segments/new/", segment_views.segment_edit, name="segment_create"),
    path("segments/<int:segment_id>/edit/", segment_views.segment_edit, name="segment_edit"),
    path(
        "segments/<int:segment_id>/recount/", segment_views.segment_recount, name="segment_recount"
    ),
    path("rules/rows/", segment_views.rule_editor_rows, name="rule_rows"),
    path("rules/count/", segment_views.rule_count, name="rule_count"),
    path("calls/", call_views.call_list, name="calls"),
    path("calls/<int:delivery_id>/reveal/", call_views.call_reveal, name="call_reveal"),
    path("calls/<int:delivery_id>/outcome/", call_views.call_outcome, name="call_outcome"),
]
