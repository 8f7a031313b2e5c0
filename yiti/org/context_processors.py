"""What the page frame (navigation, top bar) needs to know about the signed-in user."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from yiti.org.access import Access, access_for
from yiti.org.choices import Role
from yiti.org.selectors import unread_notifications_count


def access(request: HttpRequest) -> dict[str, Any]:
    """``yiti_access`` (an :class:`Access`), ``yiti_perms`` (permission codes as strings) and
    ``yiti_roles`` (the user's role names).

    Templates test ``{% if "customer.reassign" in yiti_perms %}``; both are lazy, so pages
    that never look pay nothing.
    """
    user = getattr(request, "user", None)

    def _access() -> Access:
        return access_for(user)

    def _perms() -> frozenset[str]:
        return frozenset(str(p) for p in access_for(user).perms)

    def _roles() -> list[str]:
        codes = access_for(user).roles
        return [str(label) for value, label in Role.choices if value in codes]

    return {
        "yiti_unread": SimpleLazyObject(lambda: unread_notifications_count(user)),
        "yiti_access": SimpleLazyObject(_access),
        "yiti_perms": SimpleLazyObject(_perms),
        "yiti_roles": SimpleLazyObject(_roles),
    }
