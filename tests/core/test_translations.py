"""The interface is complete in Simplified Chinese: every catalogue entry translated, none fuzzy."""

from __future__ import annotations

import re
from pathlib import Path

from django.utils import translation

import yiti

PO = Path(yiti.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_every_message_has_a_chinese_translation():
    entries = PO.read_text(encoding="utf-8").split("\n\n")[1:]  # the first block is the header
    untranslated = [e for e in entries if re.search(r'msgstr(\[0\])? ""\Z', e.strip())]
    fuzzy = [e for e in entries if "#, fuzzy" in e]
    assert not untranslated, untranslated[:3]
    assert not fuzzy, fuzzy[:3]


def test_the_compiled_catalogue_is_used():
    with translation.override("zh-hans"):
        assert translation.gettext("Your request is done") == "您的请求已办结"
        assert translation.gettext("Customers") != "Customers"
