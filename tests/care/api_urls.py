"""The project's URLs plus an API that mounts the care router, until the lead mounts it in
yiti/api/urls.py (care may not edit that file)."""

from django.urls import path
from ninja import NinjaAPI

from yiti.api import errors
from yiti.api.auth import API_AUTH
from yiti.care.api import router
from yiti.config.urls import urlpatterns as project_urlpatterns

api = NinjaAPI(title="care test", version="care-test", urls_namespace="care_api", auth=API_AUTH)
errors.install(api)
api.add_router("/care", router)

urlpatterns = [path("api/care-test/", api.urls), *project_urlpatterns]
