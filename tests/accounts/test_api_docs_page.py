"""The API docs page (drf-spectacular's Swagger UI) inside the site's frame: the site's
header with its navigation back, `lang`, and nothing inline for the CSP to block (the
browser walk, tests/browser/test_accessibility.py, checks it in Chromium with axe-core)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_api_docs_page_is_a_site_page_with_nothing_inline(client_for):
    client = client_for("marketing")
    response = client.get(reverse("api-docs"))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert 'nav aria-label="Main"' in html
    assert f'href="{reverse("home")}"' in html  # the way back to the site
    assert "<h1>API documentation</h1>" in html
    # No inline <style>, style="" or <script> body: every script and style sheet is a file.
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts, "Swagger UI's scripts"
    assert all("src=" in attrs and not body.strip() for attrs, body in scripts), scripts
    assert "css/api_docs.css" in html
    # The settings script the split view serves keeps deep links off (nested controls).
    settings_js = client.get(reverse("api-docs") + "?script=")
    assert settings_js.status_code == 200
    assert '"deepLinking": false' in settings_js.content.decode().replace("'", '"')


def test_the_csp_holds_on_the_api_docs_page(client_for):
    policy = client_for("manager").get(reverse("api-docs"))["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy
    assert "style-src 'self'" in policy and "script-src 'self'" in policy
