from django.urls import path

from yiti.service import order_views, topic_views, views

app_name = "service"
urlpatterns = [
    path("", views.service_home, name="home"),
    path("queue/<int:unit_id>/", views.queue, name="queue"),
    path("my-orders/", views.my_orders, name="my_orders"),
    path("orders/take/<int:customer_id>/", order_views.order_take_view, name="order_take"),
    path("tickets/new/", views.ticket_create, name="ticket_create"),
    path("tickets/<int:ticket_id>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:ticket_id>/transition/", views.ticket_transition, name="ticket_transition"),
    path("tickets/<int:ticket_id>/reply/", views.ticket_reply, name="ticket_reply"),
    path("tickets/<int:ticket_id>/assign/", views.ticket_assign, name="ticket_assign"),
    path("tickets/<int:ticket_id>/classify/", views.ticket_classify, name="ticket_classify"),
    path("tickets/<int:ticket_id>/topic/", topic_views.ticket_topic, name="ticket_topic"),
    path("sla/", views.policy_list, name="policies"),
    path("sla/new/", views.policy_edit, name="policy_create"),
    path("sla/<int:policy_id>/", views.policy_edit, name="policy_edit"),
    path("routing/", views.routing_list, name="routing"),
    path("routing/new/", views.routing_edit, name="routing_create"),
    path("routing/<int:rule_id>/edit/", views.routing_edit, name="routing_edit"),
    path("calendars/", views.calendar_list, name="calendars"),
    path("calendars/new/", views.calendar_edit, name="calendar_create"),
    path("calendars/<int:calendar_id>/", views.calendar_edit, name="calendar_edit"),
    path("calendars/holidays/new/", views.holiday_year_edit, name="holiday_year_new"),
    path("calendars/holidays/<int:year>/", views.holiday_year_edit, name="holiday_year_edit"),
    path(
        "calendars/holidays/<int:year>/delete/",
        views.holiday_year_delete,
        name="holiday_year_delete",
    ),
]
