from django.urls import path

from yiti.engagement import views

app_name = "engagement"
urlpatterns = [
    path("<int:customer_id>/", views.customer_timeline, name="timeline"),
    path("<int:customer_id>/record/", views.interaction_create, name="record"),
]
