from django.urls import path

from . import movement_views, views

urlpatterns = [
    path("", views.home, name="home"),
    # Included before customers.urls, so this path resolves here.
    path("customers/lookup/", views.customer_lookup, name="customer-lookup"),
    path("compare/", views.run_compare, name="run-compare"),
    path("movements/", movement_views.movements_latest, name="movements"),
    path(
        "movements/<int:publication_id>/",
        movement_views.movements_detail,
        name="movements-detail",
    ),
    path(
        "movements/<int:publication_id>/members/",
        movement_views.movement_members_page,
        name="movement-members",
    ),
    path(
        "movements/<int:publication_id>/members.csv",
        movement_views.movement_members_csv,
        name="movement-members-csv",
    ),
    path(
        "movements/<int:publication_id>/ad-audience.csv",
        movement_views.movement_ad_audience_csv,
        name="movement-ad-audience-csv",
    ),
]
