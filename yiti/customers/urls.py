from django.urls import path

from yiti.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create, name="create"),
    path("cti/", views.customer_cti, name="cti"),
    path("digest/", views.digest_toggle, name="digest"),
    path("filters/save/", views.saved_filter_save, name="saved_filter_save"),
    path("filters/<int:filter_id>/delete/", views.saved_filter_remove, name="saved_filter_delete"),
    path("reassign/", views.reassign_bulk, name="reassign_bulk"),
    path("reassign/owned/", views.reassign_owned, name="reassign_owned"),
    path("reassign/done/", views.reassign_bulk_done, name="reassign_bulk_done"),
    path("<int:customer_id>/", views.customer_detail, name="detail"),
    path("<int:customer_id>/edit/", views.customer_edit, name="edit"),
    path("<int:customer_id>/contacts/reveal/", views.contacts_reveal, name="contacts_reveal"),
    path("<int:customer_id>/contacts/add/", views.contact_add, name="contact_add"),
    path("<int:customer_id>/consent/", views.consent_change, name="consent"),
    path("<int:customer_id>/reassign/", views.customer_reassign, name="reassign"),
    path("<int:customer_id>/audit/", views.customer_audit, name="audit"),
]
