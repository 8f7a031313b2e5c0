"""Forms of the product catalogue pages. They collect input; ``product_create`` and
``product_update`` validate and raise typed errors shown next to the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from yiti.customers.choices import ProductCategory
from yiti.customers.models import Product


class ProductForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        help_text=_("Lowercase letters, digits, - and _, e.g. plan-5g-129. Unique."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    name = forms.CharField(label=_("Name"), max_length=120)
    category = forms.ChoiceField(label=_("Category"), choices=ProductCategory.choices)
    price = forms.DecimalField(
        label=_("Unit price (¥)"), max_digits=12, decimal_places=2, min_value=Decimal("0")
    )
    margin_rate = forms.DecimalField(
        label=_("Margin rate"),
        required=False,
        max_digits=5,
        decimal_places=4,
        help_text=_("A share of the price between 0 and 1, e.g. 0.35; or give the unit margin."),
    )
    unit_margin = forms.DecimalField(
        label=_("Unit margin (¥)"),
        required=False,
        max_digits=12,
        decimal_places=2,
        help_text=_("Margin on one unit, at most the price; the rate is worked out from it."),
    )
    active = forms.BooleanField(label=_("On sale (offered in order forms)"), required=False)

    def __init__(self, *args: Any, product: Product | None = None, **kwargs: Any) -> None:
        if product is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "code": product.code,
                "name": product.name,
                "category": product.category,
                "price": product.price,
                "margin_rate": product.margin_rate,
                "active": product.active,
            }
        elif product is None and "initial" not in kwargs:
            kwargs["initial"] = {"active": True}
        super().__init__(*args, **kwargs)
        self.product = product

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("margin_rate") is not None and data.get("unit_margin") is not None:
            initial = self.initial.get("margin_rate")
            if self.product is not None and data["margin_rate"] == initial:
                data["margin_rate"] = None  # the unit margin was typed: it wins
            else:
                self.add_error(
                    "unit_margin", _("Give either the margin rate or the unit margin, not both.")
                )
        return data
