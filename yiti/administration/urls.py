"""The administration pages (系统管理), mounted at /manage/."""

from django.urls import path

from yiti.administration import views

app_name = "administration"
urlpatterns = [
    path("", views.index, name="index"),
    path("start/", views.start, name="start"),
    path("roles/", views.roles, name="roles"),
    path("units/", views.units, name="units"),
    path("units/new/", views.unit_create_view, name="unit_create"),
    path("units/<int:unit_id>/", views.unit_edit, name="unit_edit"),
    path("users/", views.users, name="users"),
    path("users/new/", views.user_create_view, name="user_create"),
    path("users/<int:user_id>/", views.user_detail, name="user_detail"),
    path("users/<int:user_id>/active/", views.user_active, name="user_active"),
    path(
        "memberships/<int:membership_id>/end/",
        views.membership_end_view,
        name="membership_end",
    ),
]
