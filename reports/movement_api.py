"""REST API for movements between published segmentations (issue 19): the latest
publication's or one's by id, of the request's workspace (another workspace's publication
is 404). Reading needs view_segments."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from clustering.api.base import DEFAULT_PERMISSIONS, CanViewSegments
from clustering.history import publications
from clustering.models import Publication
from clustering.movements import movements_between
from common.api_errors import ApiProblem, error_responses

from .movement_serializers import MovementsSerializer
from .movement_views import flow_query

NOTHING_PUBLISHED = "Nothing is published in this workspace yet: no movements to show."

MOVEMENTS_EXAMPLE = {
    "earlier": {
        "publication_id": 3,
        "run_id": 11,
        "run_name": "October review",
        "published_at": "2011-10-01T09:00:00Z",
        "reference_date": "2011-10-01",
    },
    "later": {
        "publication_id": 4,
        "run_id": 12,
        "run_name": "November review",
        "published_at": "2011-11-01T09:00:00Z",
        "reference_date": "2011-11-01",
    },
    "currency": "GBP",
    "in_both": 1180,
    "new": 64,
    "gone": 12,
    "flows": [
        {
            "source": {"number": 0, "name": "Loyal customers", "valuable": True, "lapsed": False},
            "target": {"number": 2, "name": "At risk", "valuable": False, "lapsed": True},
            "customers": 312,
            "revenue": 41200.0,
            "moved": True,
            "sentence": "312 customers, GBP 41,200 of revenue: Loyal customers → At risk",
            "members_url": "/w/shop/movements/4/members/?from=0&to=2",
            "members_csv_url": "/w/shop/movements/4/members.csv?from=0&to=2",
        }
    ],
    "matches": [{"later_segment": 0, "continues": 1}, {"later_segment": 2, "continues": 0}],
}


def _ref(publication: Publication) -> dict:
    return {
        "publication_id": publication.pk,
        "run_id": publication.run_id,
        "run_name": publication.run.display_name,
        "published_at": publication.published_at,
        "reference_date": publication.run.reference_date,
    }


def movements_data(*, workspace, later: Publication) -> dict:
    movements = movements_between(workspace=workspace, later=later)
    data = {
        "earlier": None,
        "later": _ref(later),
        "currency": workspace.currency,
        "in_both": None,
        "new": None,
        "gone": None,
        "flows": [],
        "matches": [],
    }
    if movements is None:
        return data
    members = reverse("movement-members", args=[later.pk])
    members_csv = reverse("movement-members-csv", args=[later.pk])
    data.update(
        earlier=_ref(movements.earlier) if movements.earlier else None,
        in_both=movements.in_both,
        new=movements.new,
        gone=movements.gone,
        flows=[
            {
                "source": flow.source,
                "target": flow.target,
                "customers": flow.customers,
                "revenue": flow.revenue,
                "moved": flow.moved,
                "sentence": flow.sentence,
                "members_url": f"{members}?{flow_query(flow)}",
                "members_csv_url": f"{members_csv}?{flow_query(flow)}",
            }
            for flow in movements.flows
        ],
        matches=[
            {"later_segment": number, "continues": earlier}
            for number, earlier in sorted(movements.matches.items())
        ],
    )
    return data


def _schema(operation_id: str, summary: str, d404: str):
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        responses={200: MovementsSerializer, **error_responses(401, 403, 404, d404=d404)},
        examples=[OpenApiExample("Movements", value=MOVEMENTS_EXAMPLE, response_only=True)],
    )


@extend_schema(tags=["movements"])
class LatestMovementsApi(APIView):
    """Who moved between segments from the publication before the latest to the latest,
    largest flows first (earlier null and no flows for a first publication)."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanViewSegments]

    @_schema("movements_latest", "Movements into the latest publication", NOTHING_PUBLISHED)
    def get(self, request):
        later = publications(workspace=request.workspace).first()
        if later is None:
            raise ApiProblem(NOTHING_PUBLISHED, status=404, code="no_published_run")
        data = movements_data(workspace=request.workspace, later=later)
        return Response(MovementsSerializer(data).data)


@extend_schema(tags=["movements"])
class MovementsApi(APIView):
    """Who moved between segments from the publication before this one to this one."""

    permission_classes = [*DEFAULT_PERMISSIONS, CanViewSegments]

    @_schema(
        "movements_retrieve",
        "Movements into one publication",
        "No such publication in this workspace.",
    )
    def get(self, request, publication_id: int):
        later = publications(workspace=request.workspace).filter(pk=publication_id).first()
        if later is None:
            raise ApiProblem("No such publication in this workspace.", status=404, code="not_found")
        data = movements_data(workspace=request.workspace, later=later)
        return Response(MovementsSerializer(data).data)
