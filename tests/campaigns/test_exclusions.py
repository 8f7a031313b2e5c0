"""The plan's final exclusions are packed per wave, reason and block of customer ids, and read
back exactly: per wave, per reason, and per customer across waves."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tests.campaigns.conftest import first_wave
from yiti.campaigns import exclusions, services
from yiti.campaigns.models import PlanExclusion
from yiti.campaigns.planning import wave_plan

REASONS = ["opted_out", "no_contact_point", "suppressed:open_complaint", "quiet_hours"]


@given(
    decided=st.dictionaries(
        st.one_of(st.integers(1, 70_000), st.integers(1, 3 << 20)),
        st.sampled_from(REASONS),
        max_size=300,
    )
)
def test_packing_and_unpacking_gives_back_every_customer_with_his_reason(decided):
    ids = np.asarray(sorted(decided), dtype=np.int64)
    codes = np.asarray([REASONS.index(decided[i]) for i in ids.tolist()], dtype=np.int16)

    rows = exclusions.pack(7, ids, codes, REASONS)

    back = {c: row.reason for row in rows for c in exclusions.unpack(row).tolist()}
    assert back == decided
    assert sum(row.count for row in rows) == len(decided)
    # one row per reason and block of 65,536 ids, each block's offsets ascending
    keys = [(row.reason, row.block) for row in rows]
    assert len(keys) == len(set(keys))
    for row in rows:
        got = exclusions.unpack(row)
        assert (got >> exclusions.BITS == row.block).all() and (np.diff(got) > 0).all()


def test_a_customers_exclusions_are_found_across_waves_newest_first(world, make_campaign):
    cm = world.org.users["cm"]
    older = make_campaign(code="older")
    newer = make_campaign(code="newer", wave_in=6)
    for campaign in (older, newer):
        services.campaign_submit(actor=cm, campaign=campaign)
        wave_plan(actor=cm, wave=first_wave(campaign))
    no_consent, consenting = world.customers[6], world.customers[0]

    found = exclusions.of_customer(no_consent.pk, limit=10)

    assert [(e.wave.campaign.code, e.reason) for e in found] == [
        ("newer", "opted_out"),
        ("older", "opted_out"),
    ]
    assert [e.wave.campaign.code for e in exclusions.of_customer(no_consent.pk, limit=1)] == [
        "newer"
    ]
    assert exclusions.of_customer(consenting.pk, limit=10) == []
    # planning a wave again replaces its packed exclusions
    wave_plan(actor=cm, wave=first_wave(older))
    assert PlanExclusion.objects.filter(wave=first_wave(older)).count() == 1
    assert len(exclusions.of_customer(no_consent.pk, limit=10)) == 2
