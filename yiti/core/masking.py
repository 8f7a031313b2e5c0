"""Masking personal data for roles that may not see it in full."""

from __future__ import annotations


def mask_phone(value: str) -> str:
    """``13812345678`` -> ``138****5678``; keeps a leading ``+86`` style prefix readable."""
    if not value:
        return value
    digits = [i for i, ch in enumerate(value) if ch.isdigit()]
    if len(digits) < 7:
        return "*" * len(value)
    keep_head, keep_tail = (3, 4) if len(digits) >= 11 else (2, 2)
    hidden = set(digits[keep_head : len(digits) - keep_tail])
    # for +86 numbers, keep the country code plus the 3-digit prefix
    if value.startswith("+") and len(digits) > 11:
        cc = len(digits) - 11
        hidden = set(digits[cc + 3 : len(digits) - 4])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))


def mask_email(value: str) -> str:
    """``zhang.wei@example.com`` -> ``z***@example.com``."""
    if "@" not in value:
        return mask_generic(value)
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_generic(value: str) -> str:
    """Keep the first and last character: ``wxid_abc123`` -> ``w*********3``."""
    if len(value) <= 2:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_name(value: str) -> str:
    """Chinese convention: keep the surname, hide the given name (``张三丰`` -> ``张**``)."""
    if not value:
        return value
    if value.isascii():
        parts = value.split()
        return " ".join(p[:1] + "*" * (len(p) - 1) for p in parts)
    return value[0] + "*" * (len(value) - 1)
