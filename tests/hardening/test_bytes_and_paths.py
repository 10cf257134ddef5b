"""Bytes an outsider can send never make a 500 (issue 23, item 7).

The URL conf is walked and every named endpoint and page gets each hostile variant, as an
anonymous visitor, a signed-in manager and a signed-in admin: an Authorization header of
raw non-UTF-8 bytes, a NUL in the query string, a NUL (and raw non-UTF-8 bytes) in each
path parameter, non-UTF-8 bytes in other headers. API paths answer with the API's error
body ({status, code, detail, fields}); pages with the site's error pages.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db

# A WSGI server hands header bytes over as latin-1 text; this is how raw 0xFF 0xFE arrive.
RAW_BYTES = b"\xff\xfe".decode("latin-1")
BAD_TOKEN_HEADER = b"Token seg_\xff\xfe".decode("latin-1")
IDENTITIES = (None, "manager", "admin")
INT_SENTINEL = 987654321
TEXT_SENTINEL = "zz-sentinel-zz"


@dataclass(frozen=True)
class Endpoint:
    name: str  # namespaced URL name
    params: dict[str, str]  # parameter -> converter name ("regex" for re_path groups)

    def __str__(self) -> str:
        return self.name


def _walk(patterns, namespace: str, converters: dict[str, str]):
    for pattern in patterns:
        own = {
            name: type(converter).__name__.removesuffix("Converter").lower()
            for name, converter in getattr(pattern.pattern, "converters", {}).items()
        }
        for group in pattern.pattern.regex.groupindex:
            own.setdefault(group, "regex")
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace) if part)
            yield from _walk(pattern.url_patterns, inner, {**converters, **own})
        elif isinstance(pattern, URLPattern) and pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield Endpoint(name, {**converters, **own})


ENDPOINTS = sorted(
    {e.name: e for e in _walk(get_resolver().url_patterns, "", {})}.values(), key=str
)


@pytest.fixture
def world(site, make_user):
    from django.contrib.contenttypes.models import ContentType

    from accounts.models import Membership
    from accounts.services import api_token_create
    from clustering.models import Publication
    from customers.models import ImportRecord

    admin = make_user("admin", username="bytes-admin", workspace=site.workspace)
    token, _secret = api_token_create(
        user=site.manager, workspace=site.workspace, name="bytes", read_only=False
    )
    values = {
        "run_id": site.published.pk,
        "number": site.published.segments.order_by("number").first().number,
        "customer_id": site.customer_id,
        "token_key": token.token_key,
        "object_id": site.manager.pk,
        "id": site.manager.pk,
        "content_type_id": ContentType.objects.get_for_model(type(site.manager)).pk,
        "app_label": "auth",
        "line_id": "00000000-0000-4000-8000-000000000000",  # no such line: nothing removed
        "membership_id": Membership.objects.in_workspace(site.workspace).get(user=site.manager).pk,
        "publication_id": Publication.objects.in_workspace(site.workspace).first().pk,
    }
    import_id = (
        ImportRecord.objects.in_workspace(site.workspace)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    clients = {None: Client()}
    for role, user in (("manager", site.manager), ("admin", admin)):
        clients[role] = Client()
        clients[role].force_login(user)
    return values, import_id, clients


def _values_for(endpoint: Endpoint, values: dict, import_id) -> dict:
    out = {}
    for param in endpoint.params:
        if param == "pk":
            out[param] = import_id if "import" in endpoint.name else values["run_id"]
        else:
            # Objects the site's data lacks (alert rules, webhooks, layouts ...): any number
            # will do, the hostile bytes go in the headers, query and path all the same.
            out[param] = values.get(param, 1)
    return out


def _urls(endpoint: Endpoint, values: dict, import_id) -> tuple[str, list[str]]:
    """The endpoint's plausible URL, and its URLs with a hostile value in one parameter
    (or after the path, when it has none)."""
    plausible = _values_for(endpoint, values, import_id)
    url = reverse(endpoint.name, kwargs=plausible or None)
    hostile = []
    for param, converter in endpoint.params.items():
        sentinel = INT_SENTINEL if converter == "int" else TEXT_SENTINEL
        try:
            marked = reverse(endpoint.name, kwargs={**plausible, param: sentinel})
        except NoReverseMatch:  # a regex that only takes its listed values
            marked = url + str(sentinel) + "/"
        hostile += [marked.replace(str(sentinel), bad) for bad in ("%00", "a%00b", "%FF%FE")]
    if not endpoint.params:
        hostile += [url + "%00/", url + "%FF%FE/"]
    return url, hostile


def _assert_error_body(response, status: int | tuple[int, ...], api: bool, what: str):
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (what, response.status_code)
    if api:
        body = response.json()
        assert set(body) >= {"status", "code", "detail", "fields"}, what
        assert body["status"] == response.status_code, what
        assert body["fields"] == {}, what
    else:
        assert response["Content-Type"].startswith("text/html"), what


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_hostile_bytes_never_make_a_500(world, endpoint):
    values, import_id, clients = world
    url, hostile_paths = _urls(endpoint, values, import_id)
    is_api = url.startswith("/api/")
    for identity in IDENTITIES:
        client = clients[identity]
        who = identity or "anonymous"
        # Non-UTF-8 bytes in the token: the API refuses the credentials, everywhere.
        methods = ("get", "post") if is_api else ("get",)
        for method in methods:
            response = getattr(client, method)(url, HTTP_AUTHORIZATION=BAD_TOKEN_HEADER)
            what = f"{method} {url} bad token ({who})"
            assert response.status_code != 500, what
            if is_api:
                _assert_error_body(response, 401, True, what)
                assert response.json()["code"] == "authentication_failed", what
        # Non-UTF-8 bytes in other headers are read as text, or ignored.
        response = client.get(
            url,
            HTTP_ACCEPT_LANGUAGE=RAW_BYTES,
            HTTP_USER_AGENT=RAW_BYTES,
            HTTP_REFERER="https://" + RAW_BYTES,
            HTTP_COOKIE="x=" + RAW_BYTES,
        )
        assert response.status_code != 500, f"get {url} raw headers ({who})"
        for method in ("get", "post"):
            # A NUL in the query string: 400 before any view reads it.
            for query in ("q=%00", "%00=1", "page=1&q=a%00b"):
                response = getattr(client, method)(f"{url}?{query}")
                _assert_error_body(response, 400, is_api, f"{method} {url}?{query} ({who})")
            # A NUL in a path parameter: 400, or 404 when nothing lives there. Raw non-UTF-8
            # bytes there may be a fine value (a sign-in redirect, a 404): never a 500.
            for path in hostile_paths:
                response = getattr(client, method)(path)
                what = f"{method} {path} ({who})"
                if "%00" in path:
                    _assert_error_body(response, (400, 404), path.startswith("/api/"), what)
                else:
                    assert response.status_code != 500, what


def test_every_api_endpoint_refuses_a_token_of_raw_bytes_with_401(world):
    values, import_id, clients = world
    for endpoint in ENDPOINTS:
        url, _ = _urls(endpoint, values, import_id)
        if not url.startswith("/api/"):
            continue
        for identity in IDENTITIES:
            response = clients[identity].get(url, HTTP_AUTHORIZATION=BAD_TOKEN_HEADER)
            _assert_error_body(response, 401, True, f"{url} ({identity})")
            assert response.json() == {
                "status": 401,
                "code": "authentication_failed",
                "detail": "Invalid token.",
                "fields": {},
            }


def test_a_nul_in_a_search_is_a_400_page_not_a_500(world):
    _, _, clients = world
    response = clients["manager"].get("/customers/lookup/?q=%00")
    assert response.status_code == 400
    assert b"This request could not be read" in response.content


def test_a_nul_in_an_api_path_is_the_api_error_body(world):
    _, _, clients = world
    response = clients["manager"].get("/api/v1/customers/%00/")
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "code": "invalid",
        "detail": "The address or query holds a NUL character.",
        "fields": {},
    }


def test_the_walk_reaches_every_part_of_the_site():
    names = {e.name for e in ENDPOINTS}
    assert {"home", "api-customer", "clustering:segment-detail", "admin:auth_user_change"} <= names
    assert len(ENDPOINTS) > 60


@pytest.mark.parametrize("token", [b"seg_\xff\xfe", b"seg_ab\x00cd", "seg_é".encode()])
def test_the_token_authentication_refuses_bytes_that_cannot_be_a_token(token):
    from rest_framework.exceptions import AuthenticationFailed

    from accounts.authentication import ScopedTokenAuthentication

    with pytest.raises(AuthenticationFailed, match="Invalid token"):
        ScopedTokenAuthentication().authenticate_credentials(token)
