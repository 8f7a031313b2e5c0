from django.urls import path

from yiti.service.dispatch import views

app_name = "dispatch"
urlpatterns = [
    path("", views.work_order_list, name="list"),
    path("new/", views.work_order_create, name="create"),
    path("<int:work_order_id>/", views.work_order_detail, name="detail"),
    path("<int:work_order_id>/<slug:slug>/", views.work_order_step, name="step"),
]
