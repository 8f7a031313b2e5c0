"""The product catalogue pages, mounted at /products/."""

app_name = "products"
urlpatterns: list = []
