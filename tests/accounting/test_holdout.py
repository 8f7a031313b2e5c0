"""Control groups: a wave holds out a seeded random share of its audience, recorded as
exclusions with the reason ``holdout``; planning again holds out the same customers."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.accounting.conftest import first_wave
from yiti.campaigns import exclusions, holdout, services
from yiti.campaigns.models import Wave
from yiti.campaigns.planning import wave_plan
from yiti.core.errors import ValidationFailed
from yiti.core.models import AuditEvent

ids_st = st.lists(st.integers(min_value=1, max_value=2**40), unique=True, max_size=400)
share_st = st.decimals(min_value=0, max_value=Decimal("0.5"), places=3)
seed_st = st.integers(min_value=0, max_value=2**62 - 1)


@settings(max_examples=200, deadline=None)
@given(ids=ids_st, share=share_st, seed=seed_st)
def test_holdout_is_exactly_the_share_and_deterministic(ids, share, seed):
    a = np.asarray(ids, dtype=np.int64)
    mask = holdout.held_out(a, share, seed)
    # the size is the share of the audience rounded half up, exactly
    assert mask.sum() == int((share * len(ids) + Decimal("0.5")) // 1)
    # the same seed gives the same customers, whatever order the ids come in
    again = holdout.held_out(a, share, seed)
    assert (mask == again).all()
    perm = np.random.default_rng(seed % 1000).permutation(len(a))
    shuffled = holdout.held_out(a[perm], share, seed)
    assert set(a[perm][shuffled].tolist()) == set(a[mask].tolist())


@settings(max_examples=50, deadline=None)
@given(seed=seed_st)
def test_a_larger_share_holds_out_a_superset(seed):
    ids = np.arange(1, 1001, dtype=np.int64)
    small = holdout.held_out(ids, "0.1", seed)
    large = holdout.held_out(ids, "0.3", seed)
    assert small.sum() == 100 and large.sum() == 300
    assert not (small & ~large).any()


def test_different_seeds_hold_out_different_customers():
    ids = np.arange(1, 10_001, dtype=np.int64)
    a = holdout.held_out(ids, "0.2", 1)
    b = holdout.held_out(ids, "0.2", 2)
    overlap = (a & b).sum() / a.sum()
    assert 0.1 < overlap < 0.3  # independent draws overlap by about the share


def test_wave_share_is_validated(world, make_campaign):
    campaign = make_campaign()
    wave = first_wave(campaign)
    with pytest.raises(ValidationFailed) as exc:
        services.wave_update(actor=world.org.users["cm"], wave=wave, holdout_share="0.6")
    assert exc.value.field == "holdout_share"
    services.wave_update(actor=world.org.users["cm"], wave=wave, holdout_share="0.25")
    wave.refresh_from_db()
    assert wave.holdout_share == Decimal("0.250")


def test_planning_holds_out_and_records_the_seed(world, make_campaign):
    """Given a wave of eight customers holding out 25 %, when it is planned, then two of the
    eligible, reachable customers are excluded as ``holdout``, the seed is recorded and
    audited, and planning again holds out the same two."""
    cm = world.org.users["cm"]
    campaign = make_campaign()
    wave = first_wave(campaign)
    services.wave_update(actor=cm, wave=wave, holdout_share="0.25")
    services.campaign_submit(actor=cm, campaign=campaign)
    result = wave_plan(actor=cm, wave=wave)
    assert result.excluded.get("holdout") == 2
    wave.refresh_from_db()
    assert wave.holdout_seed is not None
    held = dict(exclusions.customers_of(wave))["holdout"].tolist()
    assert len(held) == 2
    event = AuditEvent.objects.filter(action="wave.plan").latest("at")
    assert event.changes["holdout_seed"] == wave.holdout_seed
    assert event.changes["excluded"]["holdout"] == 2

    again = wave_plan(actor=cm, wave=Wave.objects.get(pk=wave.pk))
    assert again.excluded.get("holdout") == 2
    assert dict(exclusions.customers_of(wave))["holdout"].tolist() == held
    # a held-out customer gets no delivery of this wave
    assert not wave.deliveries.filter(customer_id__in=held).exists()


def test_funnel_names_the_holdout(world, make_campaign, as_user):
    cm = world.org.users["cm"]
    campaign = make_campaign()
    wave = first_wave(campaign)
    services.wave_update(actor=cm, wave=wave, holdout_share="0.5")
    services.campaign_submit(actor=cm, campaign=campaign)
    wave_plan(actor=cm, wave=wave)
    page = as_user("cm").get(f"/campaigns/{campaign.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Held out (control group)" in html
    assert "50% of the audience held out" in html
