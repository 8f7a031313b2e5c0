"""Typed errors. Services raise these; the API and the web UI turn them into clear answers."""

from __future__ import annotations


class YitiError(Exception):
    """A business error with a stable code, a human message and optionally the field at fault."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = str(message)
        if code:
            self.code = code
        self.field = field

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class ValidationFailed(YitiError):
    code = "validation_error"
    status = 422


class NotFound(YitiError):
    code = "not_found"
    status = 404


class PermissionDenied(YitiError):
    code = "permission_denied"
    status = 403


class Conflict(YitiError):
    code = "conflict"
    status = 409
