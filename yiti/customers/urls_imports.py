"""Import jobs of every kind (upload, column mapping, progress, result), mounted at /imports/."""

app_name = "imports"
urlpatterns: list = []
