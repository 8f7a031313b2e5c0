"""The site's URLs plus the service router on a test API at /api/test-service/.

The lead mounts ``yiti.service.api.router`` in yiti/api/urls.py; these tests do not depend on
that mount, so they use their own API instance with the same auth and error handling.
"""

from __future__ import annotations

from django.urls import path

from yiti.api import errors
from yiti.api.auth import API_AUTH
from yiti.api.urls import YitiAPI
from yiti.config.urls import urlpatterns as site_urlpatterns
from yiti.service.api import router

test_api = YitiAPI(
    title="service tests", version="test", urls_namespace="service_test_api", auth=API_AUTH
)
errors.install(test_api)
test_api.add_router("/service", router)

urlpatterns = [
    *site_urlpatterns[:-1],
    path("api/test-service/", test_api.urls),
    site_urlpatterns[-1],
]
