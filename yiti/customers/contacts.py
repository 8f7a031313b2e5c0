"""Normalising contact values: phones with ``phonenumbers`` (China by default), e-mail, IM ids."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from yiti.core.errors import ValidationFailed
from yiti.customers.choices import ContactKind


@dataclass(frozen=True)
class Normalized:
    value: str  # what we display (national format for home-region numbers)
    normalized: str  # canonical form: E.164 for phones, lower-case e-mail
    search_key: str  # what search matches on: national digits for phones


def normalize_phone(raw: str, *, region: str | None = None) -> Normalized:
    region = region or settings.YITI_PHONE_REGION
    text = (raw or "").strip()
    if not text:
        raise ValidationFailed(_("Phone number is empty."), field="phone", code="invalid_phone")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed(
            _("“%(value)s” is not a phone number.") % {"value": text},
            field="phone",
            code="invalid_phone",
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(
            _("“%(value)s” is not a valid phone number.") % {"value": text},
            field="phone",
            code="invalid_phone",
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    national = str(number.national_number)
    home = phonenumbers.region_code_for_number(number) == region
    display = national if home else e164
    return Normalized(value=display, normalized=e164, search_key=national)


def normalize_email(raw: str) -> Normalized:
    text = (raw or "").strip()
    try:
        validate_email(text)
    except ValidationError as exc:
        raise ValidationFailed(
            _("“%(value)s” is not a valid e-mail address.") % {"value": text},
            field="email",
            code="invalid_email",
        ) from exc
    local, _sep, domain = text.rpartition("@")
    canonical = f"{local}@{domain.lower()}"
    return Normalized(
        value=canonical, normalized=canonical.lower(), search_key=canonical.lower()[:64]
    )


def normalize_handle(raw: str, *, field: str) -> Normalized:
    text = (raw or "").strip()
    if not text or len(text) > 64 or any(ch.isspace() for ch in text):
        raise ValidationFailed(
            _("“%(value)s” is not a valid account id.") % {"value": text},
            field=field,
            code="invalid_handle",
        )
    return Normalized(value=text, normalized=text, search_key=text.lower())


def normalize_contact(kind: str, raw: str) -> Normalized:
    if kind == ContactKind.PHONE:
        return normalize_phone(raw)
    if kind == ContactKind.EMAIL:
        return normalize_email(raw)
    if kind in (ContactKind.WECHAT, ContactKind.IM):
        return normalize_handle(raw, field=kind)
    raise ValidationFailed(_("Unknown contact kind: %(kind)s") % {"kind": kind}, field="kind")


def phone_search_key(query: str) -> str | None:
    """The search key for a typed phone query (full or leading part), or None if it is not one."""
    digits = "".join(ch for ch in query if ch.isdigit())
    if len(digits) < 3 or len(digits) != len(query.replace(" ", "").replace("-", "").lstrip("+")):
        return None
    if query.strip().startswith("+") or (digits.startswith("86") and len(digits) == 13):
        try:
            return str(phonenumbers.parse("+" + digits, None).national_number)
        except phonenumbers.NumberParseException:
            return None
    return digits
