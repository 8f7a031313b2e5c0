"""The photo rule as a property: accepted exactly when the first bytes are a JPEG, PNG, GIF or
WebP signature and the size is within the limit — whatever the file's name or declared type."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given, settings
from hypothesis import strategies as st

from yiti.core.errors import ValidationFailed
from yiti.portal.services import IMAGE_SIGNATURES, photo_check

SIGNATURES = [
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"RIFF\x00\x00\x00\x00WEBP",
]


def _is_image(data: bytes) -> bool:
    for magic, offset, content_type, _ext in IMAGE_SIGNATURES:
        if data[offset : offset + len(magic)] == magic and (
            content_type != "image/webp" or data[:4] == b"RIFF"
        ):
            return True
    return False


@settings(max_examples=200, deadline=None)
@given(
    head=st.sampled_from([*SIGNATURES, b""]),
    tail=st.binary(max_size=64),
    name=st.sampled_from(["a.png", "a.jpg", "a.exe", "a", "a.gif.php"]),
    declared=st.sampled_from(["image/png", "text/plain", "application/octet-stream"]),
)
def test_a_photo_is_judged_by_its_bytes_only(head, tail, name, declared):
    data = head + tail
    upload = SimpleUploadedFile(name, data, content_type=declared)
    if data and _is_image(data):
        content_type, ext = photo_check(upload)
        assert content_type.startswith("image/") and ext in {"jpg", "png", "gif", "webp"}
    else:
        with pytest.raises(ValidationFailed) as refused:
            photo_check(upload)
        assert refused.value.code == "attachment_not_image"


def test_the_size_limit_holds_for_real_images(settings):
    settings.YITI_PORTAL_PHOTO_MAX_BYTES = 100
    ok = SimpleUploadedFile("a.png", SIGNATURES[1] + b"\0" * 92, content_type="image/png")
    assert photo_check(ok) == ("image/png", "png")
    big = SimpleUploadedFile("a.png", SIGNATURES[1] + b"\0" * 93, content_type="image/png")
    with pytest.raises(ValidationFailed) as refused:
        photo_check(big)
    assert refused.value.code == "attachment_too_large"
