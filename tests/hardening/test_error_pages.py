"""Django's own errors on API paths answer with the API's error body; pages keep the site's
error pages (issue 23, item 11: no HTML 400 or 404 to an API client)."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory

from common import error_views

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client(make_user):
    client = Client()
    client.force_login(make_user("manager"))
    return client


def test_an_api_path_that_resolves_to_nothing_is_the_api_error_body(manager_client):
    response = manager_client.get("/api/v1/customers/c1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {
        "status": 404,
        "code": "not_found",
        "detail": "Not found.",
        "fields": {},
    }


def test_a_page_that_is_not_there_is_the_sites_404_page(manager_client):
    response = manager_client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_an_api_body_over_the_upload_limit_is_a_413_in_the_api_error_body(manager_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = manager_client.post(
        "/api/v1/transactions/",
        '{"lines": ["' + "a" * 2048 + '"]}',
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.json() == {
        "status": 413,
        "code": "too_large",
        "detail": "The request body is too large.",
        "fields": {},
    }


def test_a_form_over_the_upload_limit_is_the_sites_400_page(manager_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = manager_client.post(
        "/runs/new/", "name=" + "a" * 2048, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert b"This request could not be read" in response.content


def test_a_403_and_a_500_on_an_api_path_are_the_api_error_body():
    request = RequestFactory().get("/api/v1/runs/")
    denied = error_views.permission_denied(request, PermissionDenied())
    assert (denied.status_code, denied["Content-Type"]) == (403, "application/json")
    failed = error_views.server_error(request)
    assert failed.status_code == 500
    assert set(json.loads(failed.content)) == {"status", "code", "detail", "fields"}


def test_a_500_on_a_page_is_the_sites_500_page():
    response = error_views.server_error(RequestFactory().get("/runs/"))
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
