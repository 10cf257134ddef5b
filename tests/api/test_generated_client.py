"""A client generated from the schema works (issue 23, item 11): openapi-python-client (a dev
requirement) turns the project's OpenAPI schema into a Python package, and that package,
over httpx straight into the WSGI application, signs in with an API token and predicts by
customer id, by features and in a batch. A schema that declared a JSON body as multipart,
or a response its parser cannot read, fails here."""

from __future__ import annotations

import importlib
import importlib.util
import json
import subprocess
import sys

import pytest
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from clustering.models import SegmentAssignment
from tests.api.schemathesis_support import keep_test_connection  # noqa: F401 (a fixture)
from tests.conftest import require

pytestmark = pytest.mark.django_db
PACKAGE = "segmentation_api_client"


@pytest.fixture
def generated(tmp_path):
    """The client package generated from the schema into tmp_path, imported."""
    require(
        importlib.util.find_spec("openapi_python_client") is not None,
        "openapi-python-client (requirements-dev.txt: make install-dev)",
    )
    raw = SchemaGenerator().get_schema(request=None, public=True)
    schema = tmp_path / "schema.json"
    schema.write_bytes(OpenApiJsonRenderer().render(raw, renderer_context={}))
    config = tmp_path / "config.json"
    # No post-hooks: the generator would run ruff over the code, which the test needs not.
    config.write_text(json.dumps({"post_hooks": [], "package_name_override": PACKAGE}))
    result = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(schema),
         "--output-path", str(tmp_path / PACKAGE), "--meta", "none", "--config", str(config)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    # Warnings mean parts of the schema were left out of the client.
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _client(generated, token: str, **options):
    """The generated package's client, over httpx straight into the WSGI application."""
    import httpx

    return generated.AuthenticatedClient(
        base_url="http://testserver",
        token=token,
        prefix="Token",
        httpx_args={"transport": httpx.WSGITransport(app=get_wsgi_application())},
        **options,
    )


def _assignment(world, customer_id: str) -> SegmentAssignment:
    return SegmentAssignment.unscoped.select_related("segment").get(
        run_id=world.run_id, customer__external_id=customer_id
    )


@pytest.mark.usefixtures("keep_test_connection")
def test_a_generated_client_predicts_by_id_by_features_and_in_a_batch(generated, world):
    predict = importlib.import_module(f"{PACKAGE}.api.predict.predict_create")
    models = importlib.import_module(f"{PACKAGE}.models")
    client = _client(generated, world.tokens["marketing"], raise_on_unexpected_status=True)
    known, other = world.customer_ids[0], world.customer_ids[1]
    a, b = _assignment(world, known), _assignment(world, other)
    features = {f: getattr(b, f) for f in SegmentAssignment.FEATURE_FIELDS}

    with client as session:
        by_id = predict.sync_detailed(
            client=session, body=models.PredictRequestRequest(customer_id=known)
        )
        by_features = predict.sync_detailed(
            client=session,
            body=models.PredictRequestRequest(
                features=models.CustomerFeaturesRequest.from_dict(features)
            ),
        )
        batch = predict.sync_detailed(
            client=session,
            body=models.PredictRequestRequest(
                customers=[
                    models.PredictItemRequest(customer_id=known),
                    models.PredictItemRequest.from_dict({"features": features}),
                    models.PredictItemRequest(customer_id="nobody-by-that-id"),
                ]
            ),
        )

    assert by_id.status_code == 200, by_id.content
    assert isinstance(by_id.parsed, models.Prediction)
    assert (by_id.parsed.run_id, by_id.parsed.customer_id) == (world.run_id, known)
    assert (by_id.parsed.segment_number, by_id.parsed.source) == (a.segment.number, "stored")

    assert by_features.status_code == 200, by_features.content
    assert isinstance(by_features.parsed, models.Prediction)
    assert by_features.parsed.segment_number == b.segment.number
    assert by_features.parsed.source == "predicted"

    assert batch.status_code == 200, batch.content
    assert isinstance(batch.parsed, models.BatchPredictResponse)
    results = batch.parsed.results
    assert [r.index for r in results] == [0, 1, 2]
    assert [r.segment_number for r in results] == [a.segment.number, b.segment.number, None]
    assert [r.source for r in results[:2]] == ["stored", "predicted"]
    assert results[2].error


@pytest.mark.usefixtures("keep_test_connection")
def test_the_generated_client_reads_the_error_body_of_a_bad_token(generated, world):
    predict = importlib.import_module(f"{PACKAGE}.api.predict.predict_create")
    models = importlib.import_module(f"{PACKAGE}.models")
    client = _client(generated, "seg_not-a-token")
    response = predict.sync_detailed(
        client=client, body=models.PredictRequestRequest(customer_id=world.customer_ids[0])
    )
    assert response.status_code == 401
    assert isinstance(response.parsed, models.Error)
    assert (response.parsed.status, response.parsed.code) == (401, "authentication_failed")
