"""Web helpers tied to Yiti's user model."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest

from yiti.org.models import User


def acting_user(request: HttpRequest) -> User:
    """The signed-in user of a ``login_required`` view, typed as Yiti's ``User``."""
    return cast(User, request.user)
