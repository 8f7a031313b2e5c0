"""Contact policy administration (rules, quiet hours, do-not-disturb), mounted at /policy/."""

app_name = "policy"
urlpatterns: list = []
