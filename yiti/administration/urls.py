"""The administration pages (系统管理), mounted at /manage/."""

app_name = "administration"
urlpatterns: list = []
