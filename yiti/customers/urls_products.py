"""The product catalogue pages, mounted at /products/."""

from django.urls import path

from yiti.customers import product_views

app_name = "products"
urlpatterns = [
    path("", product_views.product_list, name="list"),
    path("new/", product_views.product_create, name="create"),
    path("<slug:code>/", product_views.product_edit, name="edit"),
    path("<slug:code>/active/", product_views.product_set_active, name="set_active"),
]
