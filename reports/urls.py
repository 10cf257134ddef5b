from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    # Included before customers.urls, so this path resolves here.
    path("customers/lookup/", views.customer_lookup, name="customer-lookup"),
    path("compare/", views.run_compare, name="run-compare"),
]
