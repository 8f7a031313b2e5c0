"""Fixtures for the web UI tests: customers made through the services, clients per role."""

from __future__ import annotations

import pytest
from django.test import Client

from yiti.customers.services import ContactInput, customer_create


@pytest.fixture
def make_customer(org):
    """``make_customer(name, unit=org.hz, owner=None, phone=None, **fields)`` via the service."""

    def make(name, *, unit=None, owner=None, phone=None, email=None, **fields):
        contacts = []
        if phone:
            contacts.append(ContactInput(kind="phone", value=phone, primary=True))
        if email:
            contacts.append(ContactInput(kind="email", value=email, primary=True))
        return customer_create(
            actor=None, name=name, unit=unit or org.hz, owner=owner, contacts=contacts, **fields
        )

    return make


@pytest.fixture
def as_user(org):
    """``as_user("am_hz")`` -> a test client signed in as that user of the org fixture."""

    def client_for(username):
        client = Client()
        client.force_login(org.users[username])
        return client

    return client_for


HTMX = {"HTTP_HX_REQUEST": "true"}
