"""Hot issues (热点问题): themes mined from the free text of complaints and consultations, their
replies and the survey answers, with jieba's Chinese word segmentation.

A *document* is one ticket (its subject and description when opened in the week, and the
replies written in the week) or one survey response (its text answers). Each is segmented
with jieba (accurate mode; the topic catalogue's names and keywords are taught to it so they
stay whole); stop words (``stopwords_zh.txt``), single characters, numbers and punctuation are
dropped, and so are the parts of speech that say nothing about a topic, personal names
first (no customer's name becomes a hot term). A term counts once per document. The counts are kept per week and per unit of the
customer concerned, so any scope adds up the rows of its units.

A term is **rising** when it occurs in at least ``MIN_DOCUMENTS`` documents of the week and in
at least ``RISE_RATIO`` times as many as expected from the week before — last week's count
scaled by the change in the number of documents, plus one so that a new term needs a few
documents to rise. Rising terms are ordered by the surprise ``(this week − expected) /
√(expected + 1)``.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from yiti.care.choices import QuestionKind
from yiti.care.models import SurveyAnswer
from yiti.quality.models import QualityRun, ThemeTerm, ThemeWeek
from yiti.quality.periods import bounds
from yiti.service.choices import TicketEventKind, TicketKind
from yiti.service.models import Ticket, TicketEvent, Topic

STOPWORDS_FILE = Path(__file__).with_name("stopwords_zh.txt")
MIN_DOCUMENTS = 3
RISE_RATIO = 2.0
TERMS_PER_UNIT = 400  # the most frequent terms kept per unit and week
EXAMPLES_PER_TERM = 5
TERM_CHARS = 40
MINED_KINDS = (TicketKind.COMPLAINT, TicketKind.CONSULTATION)
# jieba's part-of-speech tags dropped: personal names, numerals and quantifiers, pronouns,
# adverbs, prepositions, conjunctions, particles, time words, interjections, punctuation
DROPPED_TAGS = ("nr", "m", "q", "r", "d", "p", "c", "u", "t", "e", "y", "o", "w", "x")

_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"^[a-z][a-z0-9+\-]*$")
_lock = threading.Lock()


@cache
def stop_words() -> frozenset[str]:
    words = set()
    for line in STOPWORDS_FILE.read_text(encoding="utf-8").splitlines():
        word = line.strip()
        if word and not word.startswith("#"):
            words.add(word.lower())
    return frozenset(words)


@cache
def _tokenizer() -> Any:
    import jieba

    jieba.setLogLevel(60)  # jieba logs its dictionary loading at INFO
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


@cache
def _tagger() -> Any:
    """jieba's part-of-speech tagger over the same dictionary (and the words taught to it)."""
    from jieba import posseg

    return posseg.POSTokenizer(_tokenizer())


def teach(words: Iterable[str]) -> None:
    """Keep these words whole when segmenting (the topic catalogue's names and keywords)."""
    tokenizer = _tokenizer()
    with _lock:
        for word in words:
            word = word.strip()
            if len(word) >= 2:
                tokenizer.add_word(word, freq=20000, tag="n")


def topic_words() -> list[str]:
    words: list[str] = []
    for name, keywords in Topic.objects.filter(active=True).values_list("name", "keywords"):
        words.append(name)
        words.extend(w for w in re.split(r"[,，、;；\s]+", keywords or "") if w)
    return words


def terms_of(text: str) -> set[str]:
    """The distinct terms of one text: jieba's words less stop words, single characters,
    numbers, punctuation, and the parts of speech that carry no topic — among them personal
    names (``nr``), so a customer's or an employee's name never shows as a hot term."""
    stop = stop_words()
    out = set()
    for token, flag in _tagger().lcut(text or ""):
        if flag.startswith(DROPPED_TAGS):
            continue
        word = token.strip().lower()
        if len(word) < 2 or len(word) > TERM_CHARS or word in stop:
            continue
        if _CJK.search(word) or _WORD.match(word):
            out.add(word)
    return out


@dataclass
class UnitTerms:
    documents: int = 0
    terms: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class Mined:
    week: date
    units: dict[int, UnitTerms]

    @property
    def documents(self) -> int:
        return sum(u.documents for u in self.units.values())


@dataclass
class _Doc:
    unit_id: int
    ticket_id: int | None
    texts: list[str] = field(default_factory=list)


def _documents(week: date) -> Iterator[_Doc]:
    start, end = bounds(week, week + timedelta(days=6))
    tickets: dict[int, _Doc] = {}
    opened = (
        Ticket.objects.filter(kind__in=MINED_KINDS, opened_at__gte=start, opened_at__lt=end)
        .values_list("id", "customer__unit_id", "subject", "description")
        .order_by("id")
    )
    for ticket_id, unit_id, subject, description in opened.iterator(chunk_size=2000):
        tickets[ticket_id] = _Doc(unit_id, ticket_id, [subject, description])
    replies = (
        TicketEvent.objects.filter(
            kind=TicketEventKind.REPLY,
            at__gte=start,
            at__lt=end,
            ticket__kind__in=MINED_KINDS,
        )
        .values_list("ticket_id", "ticket__customer__unit_id", "body")
        .order_by("id")
    )
    for ticket_id, unit_id, body in replies.iterator(chunk_size=2000):
        doc = tickets.get(ticket_id)
        if doc is None:
            doc = tickets[ticket_id] = _Doc(unit_id, ticket_id)
        doc.texts.append(body)
    yield from tickets.values()
    answers = (
        SurveyAnswer.objects.filter(
            question__kind=QuestionKind.TEXT,
            response__submitted_at__gte=start,
            response__submitted_at__lt=end,
        )
        .exclude(text="")
        .values_list(
            "response_id", "response__customer__unit_id", "response__complaint_ticket_id", "text"
        )
        .order_by("response_id", "id")
    )
    responses: dict[int, _Doc] = {}
    for response_id, unit_id, ticket_id, text in answers.iterator(chunk_size=2000):
        doc = responses.get(response_id)
        if doc is None:
            doc = responses[response_id] = _Doc(unit_id, ticket_id)
        doc.texts.append(text)
    yield from responses.values()


def mine_week(week: date) -> Mined:
    """Segment every document of the week and count each term once per document, per unit."""
    teach(topic_words())
    units: dict[int, UnitTerms] = defaultdict(UnitTerms)
    for doc in _documents(week):
        terms = terms_of("\n".join(t for t in doc.texts if t))
        tally = units[doc.unit_id]
        tally.documents += 1
        tally.terms.update(terms)
        if doc.ticket_id is not None:
            for term in terms:
                examples = tally.examples[term]
                if len(examples) < EXAMPLES_PER_TERM:
                    examples.append(doc.ticket_id)
    return Mined(week=week, units=dict(units))


def store_week(*, run: QualityRun, week: date, mined: Mined) -> None:
    """Replace the week's rows with ``mined`` (inside the caller's transaction)."""
    ThemeWeek.objects.filter(week=week).delete()
    weeks = ThemeWeek.objects.bulk_create(
        [
            ThemeWeek(run=run, week=week, unit_id=unit_id, documents=tally.documents)
            for unit_id, tally in sorted(mined.units.items())
        ]
    )
    by_unit = {w.unit_id: w for w in weeks}
    rows = []
    for unit_id, tally in mined.units.items():
        theme_week = by_unit[unit_id]
        for term, count in tally.terms.most_common(TERMS_PER_UNIT):
            rows.append(
                ThemeTerm(
                    theme_week=theme_week,
                    week=week,
                    term=term,
                    documents=count,
                    examples=tally.examples.get(term, []),
                )
            )
    ThemeTerm.objects.bulk_create(rows, batch_size=1000)


@dataclass(frozen=True)
class Rising:
    term: str
    documents: int
    previous: int
    expected: float
    surprise: float
    examples: list[int]


def rising_terms(
    current: dict[str, int],
    previous: dict[str, int],
    documents: int,
    previous_documents: int,
    examples: dict[str, list[int]] | None = None,
) -> list[Rising]:
    """The rising terms of the week, most surprising first (pure; see the module's rule)."""
    scale = documents / previous_documents if previous_documents else 1.0
    out = []
    for term, count in current.items():
        if count < MIN_DOCUMENTS:
            continue
        before = previous.get(term, 0)
        expected = before * scale
        if count < RISE_RATIO * (expected + 1):
            continue
        surprise = (count - expected) / math.sqrt(expected + 1)
        out.append(
            Rising(
                term=term,
                documents=count,
                previous=before,
                expected=round(expected, 1),
                surprise=round(surprise, 2),
                examples=(examples or {}).get(term, []),
            )
        )
    out.sort(key=lambda r: (-r.surprise, -r.documents, r.term))
    return out
