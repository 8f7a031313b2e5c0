"""Sign-in limits: brute force on one account, floods and slow password spraying.

Three rules, read from the recorded ``LoginAttempt`` rows:

1. **One account** — ``YITI_LOGIN_MAX_ATTEMPTS`` failures for a username (as sign-in compares
   it, ``login_key``) in ``YITI_LOGIN_WINDOW_SECONDS`` lock that username for the window.
2. **A flood from one address** — ``YITI_LOGIN_MAX_ATTEMPTS_PER_IP`` failures from an address
   in the window. The number is high: behind a company's NAT many people share an address.
3. **Spraying** — one common password tried against many accounts, slowly enough to stay under
   both limits. When failures from one address name ``YITI_LOGIN_SPRAY_USERNAMES`` distinct
   usernames in ``YITI_LOGIN_SPRAY_WINDOW_SECONDS`` (an hour), every further attempt from that
   address must wait a delay after its previous failure, doubling with each further username
   (``YITI_LOGIN_SPRAY_DELAY_SECONDS``, at most ``YITI_LOGIN_SPRAY_MAX_DELAY_SECONDS``).
   The delay is per username + address pair: a user who signed in successfully from this
   address in the last 30 days is not delayed, so colleagues behind the same address keep
   signing in while the sprayer crawls.

``login_check`` answers whether an attempt may go ahead now and, if not, how long to wait.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from yiti.org.models import LoginAttempt

KNOWN_PAIR_DAYS = 30


@dataclass(frozen=True)
class LoginDecision:
    allowed: bool
    retry_after: int = 0  # seconds
    reason: str = ""  # "username", "address" or "spraying"

    @property
    def retry_minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def spray_delay(distinct_usernames: int) -> int:
    """Seconds an address must wait between attempts once it has failed for this many
    distinct usernames (0 below the threshold)."""
    threshold = _setting("YITI_LOGIN_SPRAY_USERNAMES", 10)
    if distinct_usernames < threshold:
        return 0
    base = _setting("YITI_LOGIN_SPRAY_DELAY_SECONDS", 10)
    ceiling = _setting("YITI_LOGIN_SPRAY_MAX_DELAY_SECONDS", 900)
    steps = min(distinct_usernames - threshold, 20)
    return int(min(ceiling, base * 2**steps))


def login_check(*, key: str, ip: str | None, now: datetime | None = None) -> LoginDecision:
    """May a sign-in for ``key`` (a ``login_key``) from ``ip`` be tried now?"""
    now = now or timezone.now()
    window = _setting("YITI_LOGIN_WINDOW_SECONDS", 300)
    failed = LoginAttempt.objects.filter(succeeded=False)
    recent = failed.filter(at__gte=now - timedelta(seconds=window))
    if recent.filter(username=key).count() >= _setting("YITI_LOGIN_MAX_ATTEMPTS", 5):
        return LoginDecision(False, window, "username")
    if not ip:
        return LoginDecision(True)
    if recent.filter(ip_address=ip).count() >= _setting("YITI_LOGIN_MAX_ATTEMPTS_PER_IP", 100):
        return LoginDecision(False, window, "address")
    spray_window = _setting("YITI_LOGIN_SPRAY_WINDOW_SECONDS", 3600)
    from_ip = failed.filter(ip_address=ip, at__gte=now - timedelta(seconds=spray_window))
    delay = spray_delay(from_ip.values("username").distinct().count())
    if not delay:
        return LoginDecision(True)
    known = LoginAttempt.objects.filter(
        username=key,
        ip_address=ip,
        succeeded=True,
        at__gte=now - timedelta(days=KNOWN_PAIR_DAYS),
    ).exists()
    if known:
        return LoginDecision(True)
    last = from_ip.aggregate(last=Max("at"))["last"]
    waited = (now - last).total_seconds() if last else delay
    if waited >= delay:
        return LoginDecision(True)
    return LoginDecision(False, math.ceil(delay - waited), "spraying")
