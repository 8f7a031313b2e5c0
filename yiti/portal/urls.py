"""The portal pages, mounted at ``portal/`` (the portal cookie's path)."""

from django.urls import path

from yiti.portal import panels, views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/code/", views.sign_in_code, name="sign_in_code"),
    path("sign-in/account/", views.account, name="account"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("tickets/", views.tickets, name="tickets"),
    path("tickets/new/", views.ticket_new, name="ticket_new"),
    path("tickets/<int:ticket_id>/", views.ticket, name="ticket"),
    path("tickets/<int:ticket_id>/reply/", views.ticket_reply, name="ticket_reply"),
    path("tickets/<int:ticket_id>/reopen/", views.ticket_reopen, name="ticket_reopen"),
    path("tickets/<int:ticket_id>/rate/", views.ticket_rate, name="ticket_rate"),
    path(
        "tickets/<int:ticket_id>/photos/<int:message_id>/",
        views.ticket_photo,
        name="ticket_photo",
    ),
    path("orders/", views.orders, name="orders"),
    path("messages/", views.messages, name="messages"),
    path("messages/<int:message_id>/", views.message, name="message"),
    path("offers/", views.offers, name="offers"),
    path("offers/accept/", views.offer_accept, name="offer_accept"),
    path("offers/decline/", views.offer_decline, name="offer_decline"),
    path("consent/", views.consent, name="consent"),
    path("profile/", views.profile, name="profile"),
    path("profile/confirm/", views.contact_confirm, name="contact_confirm"),
    # staff read the customer's photos from the ticket page (staff sign-in, ticket visible)
    path("staff/photos/<int:message_id>/", panels.staff_photo, name="staff_photo"),
]
