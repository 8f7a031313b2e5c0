"""An empty URL configuration: what answers under it answered ahead of the URL resolver."""

urlpatterns: list[object] = []
