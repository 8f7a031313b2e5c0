"""factory-boy factories for tests. Writes that matter go through services; these build fixtures."""

from __future__ import annotations

import factory
from django.utils import timezone

from yiti.core.search import search_key
from yiti.customers.choices import ContactKind
from yiti.customers.contacts import normalize_phone
from yiti.customers.models import ContactPoint, Customer, Product
from yiti.org.models import Membership, OrgUnit, User


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrgUnit

    name = factory.Sequence(lambda n: f"Unit {n}")
    code = factory.Sequence(lambda n: f"unit-{n}")
    kind = "branch"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        from yiti.org.services import unit_create

        return unit_create(**kwargs)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"User {n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-Secret-123")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    unit = factory.SubFactory(UnitFactory)
    role = "account_manager"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"客户{n:05d}")
    name_key = factory.LazyAttribute(lambda o: search_key(o.name))
    unit = factory.SubFactory(UnitFactory)
    since = factory.LazyFunction(timezone.localdate)


class PhoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactPoint

    customer = factory.SubFactory(CustomerFactory)
    kind = ContactKind.PHONE
    value = factory.Sequence(lambda n: f"138{n:08d}")
    normalized = factory.LazyAttribute(lambda o: normalize_phone(o.value).normalized)
    search_key = factory.LazyAttribute(lambda o: normalize_phone(o.value).search_key)
    is_primary = True


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"prod-{n}")
    name = factory.Sequence(lambda n: f"Product {n}")
    category = "mobile_plan"
    price = 100
    margin_rate = "0.3000"
