"""Real-time segment assignment with the published run: one customer (a known id or raw
features) or a batch of up to 1,000 of either."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import PERSONAL_DATA_PERMISSION
from clustering.engine.value import ASSIGNED_VALUE_COLUMNS
from clustering.predicting import (
    NoPublishedRun,
    PredictorUnavailable,
    predict_features,
    published_model,
    stored_predictions,
)
from clustering.serializers import (
    CUSTOMER_ID_MAX_LENGTH,
    BatchPredictResponseSerializer,
    PredictionSerializer,
    PredictRequestSerializer,
)
from common.api_errors import ApiProblem, error_responses
from customers.selectors import customer_ids_by_email
from transaction_files.pseudonyms import is_email

from .base import CanViewSegments, no_published_run
from .examples import PREDICT_EXAMPLES

NOT_IN_SEGMENTATION = "customer not in the published segmentation; send features instead"


def _prediction(run_id: int, customer_id: str | None, p, currency: str) -> dict:
    return {
        "run_id": run_id,
        "customer_id": customer_id,
        "segment_number": p.segment.number,
        "segment_id": p.segment.number,  # deprecated: the same number, kept one release
        "segment_name": p.segment.name,
        "action": p.segment.action,
        "value": p.segment.value,
        "engagement": p.segment.engagement,
        "activity": p.segment.activity,
        "why": p.segment.why,
        "confidence": p.confidence,
        "source": p.source,
        # stored for a known customer, from the run's models for raw features; None for an
        # older run
        "p_alive": p.value_ahead.p_alive,
        "expected_purchases": p.value_ahead.expected_purchases,
        "expected_value": p.value_ahead.expected_value,
        "next_purchase_days": p.value_ahead.next_purchase_days,
        "currency": currency,  # of expected_value
    }


def _ids_for_emails(request, emails: list[str]) -> dict[str, str | ApiProblem]:
    """The id of the one customer each e-mail names ("" when none), or why not: for users
    who may see personal data (as the customer lookup page asks); one query for them all."""
    if not request.user.has_perm(PERSONAL_DATA_PERMISSION):
        refused = ApiProblem(
            "Only users who may see personal data may name a customer by e-mail; send the "
            "customer id.",
            status=403,
            code="personal_data_required",
        )
        return dict.fromkeys(emails, refused)
    found = customer_ids_by_email(workspace=request.workspace, emails=emails)
    return {email: _one(ids) for email, ids in found.items()}


def _one(ids: list[str]) -> str | ApiProblem:
    if len(ids) > 1:
        return ApiProblem(
            f"{len(ids)} customers have this e-mail; send one of their ids "
            "(GET /api/v1/customers/?email=... lists them).",
            status=409,
            code="email_not_unique",
        )
    return ids[0] if ids else ""


def _plain_customer_id_request(data) -> dict | None:
    """{"customer_id": ...} when the body is exactly a known-customer request that
    PredictRequestSerializer would accept unchanged (a trimmed, non-empty ASCII string within
    the length limit), else None and the serializer decides, with its error messages.

    The real-time path's most common request: building the nested serializer is a large share
    of the request (docs/performance.md).
    """
    if not isinstance(data, dict) or len(data) != 1:
        return None
    value = data.get("customer_id")
    if (
        isinstance(value, str)
        and 0 < len(value) <= CUSTOMER_ID_MAX_LENGTH
        and value.isascii()
        and value.isprintable()
        and value == value.strip()
    ):
        return {"customer_id": value}
    return None


@extend_schema(tags=["predict"])
class PredictApi(APIView):
    """Which segment is this customer in? Real-time assignment with the published run of the
    request's workspace (a token's workspace).

    A known customer id answers the run's stored assignment (`source: stored`); raw features
    go through the run's predictor (`source: predicted`), loaded once per process and
    reloaded when another run is published.
    """

    # Predicting is a read: it changes nothing, it is only a POST because a batch of features
    # does not fit in a URL. So, unlike every other endpoint, read-only tokens may use it:
    # ReadOnlyTokenPermission (default) is deliberately left out here.
    permission_classes = [IsAuthenticated, CanViewSegments]
    throttle_scope = "predict"

    @extend_schema(
        summary="Assign customers to segments",
        description="Send exactly one of `customer_id` (a known customer; users who may see "
        "personal data may send the customer's e-mail instead, and the answer carries the "
        "customer's id), `features` (a "
        "customer's raw features; every feature the published run uses is required, "
        "`mean_days_between_purchases` may be null) or `customers` (a batch of up to 1,000 "
        "of either). A batch answers `results` in request order; a customer the published "
        "run does not know gets `error` instead of a segment, the others are still assigned. "
        "`segment_number` is the segment's number, as in the segments URLs; `segment_id` "
        "carries the same number and is deprecated. `p_alive`, `expected_purchases`, "
        "`expected_value` and `next_purchase_days` are the run's stored values for a known "
        "`customer_id`. For raw `features` they come from the run's value models applied to "
        "`recency_days`, `frequency` (orders standing in for purchase days) and "
        "`tenure_days`, sent even where the run does not segment on them, with "
        "`avg_basket_value` as the spend per order (the shop's mean when not sent); they "
        "are null without those three and on runs that did not estimate value ahead.",
        request=PredictRequestSerializer,
        responses={
            200: OpenApiResponse(
                response=PolymorphicProxySerializer(
                    component_name="PredictResponse",
                    serializers=[PredictionSerializer, BatchPredictResponseSerializer],
                    resource_type_field_name=None,
                ),
                description="A Prediction for customer_id or features; a "
                "BatchPredictResponse (run_id and results in request order) for customers.",
            ),
            **error_responses(
                400,
                401,
                403,
                404,
                409,
                429,
                503,
                d403="The token's role may not predict, or an e-mail was sent as customer_id "
                "by a user who may not see personal data (code personal_data_required).",
                d404="No published run (code no_published_run), or a customer id the "
                "published run does not know (code customer_not_in_segmentation).",
                d409="Several customers have the e-mail sent (code email_not_unique).",
                d503="The published run's predictor file cannot be read on this server.",
            ),
        },
        examples=PREDICT_EXAMPLES,
    )
    def post(self, request):
        try:
            # a token's request is in the token's workspace (accounts/authentication.py)
            model = published_model(workspace=request.workspace)
        except NoPublishedRun as error:
            raise no_published_run() from error
        except PredictorUnavailable as error:
            raise ApiProblem(
                "The published run's predictor cannot be loaded on this server; "
                "ask an administrator to check the predictor file or publish the run again.",
                status=503,
                code="predictor_unavailable",
            ) from error
        data = _plain_customer_id_request(request.data)
        if data is None:
            serializer = PredictRequestSerializer(
                data=request.data, context={"required_features": model.features}
            )
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        if "customers" in data:
            return Response(
                self._batch(request, model, data["customers"], request.workspace.currency)
            )
        if "customer_id" in data:
            customer_id = data["customer_id"]
            stored = stored_predictions(model, [customer_id]).get(customer_id)
            if stored is None and is_email(customer_id):
                known_as = _ids_for_emails(request, [customer_id])[customer_id]
                if isinstance(known_as, ApiProblem):
                    raise known_as
                stored = stored_predictions(model, [known_as]).get(known_as)
                customer_id = known_as or customer_id
            if stored is None:
                raise ApiProblem(
                    NOT_IN_SEGMENTATION, status=404, code="customer_not_in_segmentation"
                )
            return Response(
                _prediction(model.run_id, customer_id, stored, request.workspace.currency)
            )
        (predicted,) = predict_features(model, [data["features"]])
        return Response(_prediction(model.run_id, None, predicted, request.workspace.currency))

    @staticmethod
    def _batch(request, model, items: list[dict], currency: str) -> dict:
        ids = [item["customer_id"] for item in items if "customer_id" in item]
        stored = stored_predictions(model, ids) if ids else {}
        # e-mails the run does not know as ids: the ids they name, or why not
        emails = [i for i in dict.fromkeys(ids) if i not in stored and is_email(i)]
        by_email = _ids_for_emails(request, emails) if emails else {}
        named = [v for v in by_email.values() if isinstance(v, str)]
        stored.update(stored_predictions(model, named) if named else {})
        with_features = [i for i, item in enumerate(items) if "features" in item]
        predicted = dict(
            zip(
                with_features,
                predict_features(model, [items[i]["features"] for i in with_features]),
                strict=True,
            )
        )
        results = []
        for index, item in enumerate(items):
            customer_id = item.get("customer_id")
            error = NOT_IN_SEGMENTATION
            if isinstance(by_email.get(customer_id), ApiProblem):
                error = str(by_email[customer_id].detail)
            elif by_email.get(customer_id):
                customer_id = by_email[customer_id]
            p = predicted.get(index) if customer_id is None else stored.get(customer_id)
            if p is None:
                results.append(
                    {
                        "index": index,
                        "customer_id": customer_id,
                        "segment_number": None,
                        "segment_id": None,
                        "segment_name": None,
                        "action": None,
                        **dict.fromkeys(("value", "engagement", "activity", "why")),
                        "confidence": None,
                        "source": None,
                        **dict.fromkeys(ASSIGNED_VALUE_COLUMNS),
                        "currency": currency,
                        "error": error,
                    }
                )
                continue
            row = _prediction(model.run_id, customer_id, p, currency)
            del row["run_id"]
            results.append({"index": index, **row, "error": None})
        return {"run_id": model.run_id, "currency": currency, "results": results}
