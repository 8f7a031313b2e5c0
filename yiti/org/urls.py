"""Sign-in/out (global names ``login``, ``logout``, ``home``) and the org pages (``org:...``)."""

from django.urls import path

from yiti.org import views

# Mounted without a namespace: settings.LOGIN_URL and LOGOUT_REDIRECT_URL name them. ``home``
# ("") is mounted by yiti.config.urls (administration.views.home: the first-run checklist).
auth_urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
]

app_name = "org"
urlpatterns = [
    path("audit/", views.audit_log, name="audit"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/notifications/", views.notifications, name="notifications"),
    path("account/notifications/read/", views.notifications_read, name="notifications_read"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("account/password/", views.password_change, name="password_change"),
    path(
        "account/set-password/<uidb64>/<token>/",
        views.PasswordSetView.as_view(),
        name="password_set",
    ),
]
