"""The order form of the customer page: product, quantity, amount, channel, salesperson."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yiti.customers.choices import SalesChannel
from yiti.customers.models import Customer, Product
from yiti.customers.selectors import products_on_sale, sellers_for
from yiti.org.models import User

TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} · ¥{obj.price:,.2f}"


class SellerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj} ({obj.username})" if str(obj) != obj.username else obj.username


class OrderForm(forms.Form):
    """Collects the order; ``order_take`` validates it again and raises typed errors."""

    product = ProductChoiceField(
        label=_("Product"), queryset=Product.objects.none(), empty_label=_("— choose —")
    )
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100_000, initial=1)
    amount = forms.DecimalField(
        label=_("Amount (¥)"),
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        help_text=_("Leave empty for the price × quantity."),
    )
    channel = forms.ChoiceField(
        label=_("Sales channel"), choices=SalesChannel.choices, initial=SalesChannel.BRANCH
    )
    sold_by = SellerChoiceField(label=_("Salesperson"), queryset=User.objects.none())
    note = forms.CharField(
        label=_("Note for service"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    token = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, customer: Customer, user: User, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("sold_by", user.pk)
        kwargs["initial"].setdefault("quantity", 1)
        kwargs["initial"].setdefault("channel", SalesChannel.BRANCH)
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["product"].queryset = products_on_sale()  # type: ignore[attr-defined]
        sellers = User.objects.filter(
            Q(pk__in=sellers_for(customer).values("pk")) | Q(pk=user.pk), is_active=True
        ).order_by("display_name", "username")
        self.fields["sold_by"].queryset = sellers  # type: ignore[attr-defined]
        for name in ("product", "sold_by"):  # pickers with search (app.js)
            self.fields[name].widget.attrs["data-search"] = "1"

    def clean_token(self) -> str:
        token = (self.cleaned_data.get("token") or "").strip()
        if token and not TOKEN_RE.match(token):
            raise forms.ValidationError(_("This form has expired; fill it in again."))
        return token

    def preview_amount(self) -> Decimal:
        """What the order will cost: the amount typed, else price × quantity."""
        data = self.cleaned_data
        if data.get("amount") is not None:
            return Decimal(data["amount"])
        return (Decimal(data["product"].price) * data["quantity"]).quantize(Decimal("0.01"))
