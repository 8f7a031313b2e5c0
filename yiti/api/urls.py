"""The /api/v1 router: mounts each app's endpoints."""

from ninja import NinjaAPI

api = NinjaAPI(title="Yiti API", version="1", urls_namespace="api")
