"""After ``yiti seed`` the next best action panel proposes actions for demo customers."""

from __future__ import annotations

import pytest

from yiti.customers.models import Customer
from yiti.decisions import nba
from yiti.demo.seed import SeedOptions, seed
from yiti.org.models import User


@pytest.mark.django_db
def test_the_panel_shows_actions_for_seeded_customers(client):
    nba.caches_clear()
    seed(SeedOptions(customers=60, seed=3, tickets=0))
    admin = User.objects.filter(memberships__role="admin").first()
    assert admin is not None
    client.force_login(admin)
    shown = 0
    for customer in Customer.objects.filter(status="active").order_by("id")[:5]:
        html = client.get(f"/customers/{customer.pk}/").content.decode()
        assert 'id="nba"' in html
        # actions, or the clear empty state when the policy drops them all (with reasons)
        assert 'class="nba-action"' in html or 'id="nba-empty"' in html
        shown += html.count('class="nba-action"')
    assert shown >= 3
