"""Top-level URLs: each app mounts its own."""

from django.urls import include, path

from yiti.api.urls import api
from yiti.insights.views_home import start as home
from yiti.org.urls import auth_urlpatterns
from yiti.portal.api import api as portal_api

urlpatterns = [
    path("", home, name="home"),
    *auth_urlpatterns,
    path("", include("yiti.org.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("customers/", include("yiti.customers.urls")),
    path("customers/io/", include("yiti.customers.urls_io")),
    path("timeline/", include("yiti.engagement.urls")),
    path("service/", include("yiti.service.urls")),
    path("dispatch/", include("yiti.service.dispatch.urls")),
    path("care/", include("yiti.care.urls")),
    path("reports/", include("yiti.care.reports.urls")),
    path("value/", include("yiti.decisions.urls")),
    path("campaigns/", include("yiti.campaigns.urls")),
    path("c/", include("yiti.campaigns.urls_public")),
    path("products/", include("yiti.customers.urls_products")),
    path("imports/", include("yiti.customers.urls_imports")),
    path("policy/", include("yiti.campaigns.urls_policy")),
    path("manage/", include("yiti.administration.urls")),
    path("insights/", include("yiti.insights.urls")),
    path("quality/", include("yiti.quality.urls")),
    path("attribution/", include("yiti.attribution.urls")),
    path("accounting/", include("yiti.accounting.urls")),
    path("portal/", include("yiti.portal.urls")),
    path("api/v1/portal/", portal_api.urls),
    path("api/v1/", api.urls),
]
