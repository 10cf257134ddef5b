"""The workspace's playbook over the API: every segment name's action, the workspace's own
or the engine's default (GET, for who may read run reports), and a manager's change to one
name's action (PUT, as the playbook page saves it)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from clustering.engine.naming import NAME_RULES
from clustering.playbook import PlaybookRow, playbook_rows, playbook_set
from common.api_errors import ApiProblem, error_responses
from common.api_strict import StrictCharField

from .base import CanManageRuns, CanViewRunReports

MAX_WORDS = 500  # as the page's form and the model


class PlaybookEntrySerializer(serializers.Serializer):
    index = serializers.IntegerField(
        read_only=True, help_text="The name's key: /api/v1/playbook/<index>/."
    )
    name = serializers.CharField(read_only=True, help_text="A segment name of the engine's rules.")
    action = StrictCharField(
        max_length=MAX_WORDS,
        allow_blank=True,
        help_text="What marketing should do with a segment of this name. Empty, or the "
        "default's words, goes back to the default.",
    )
    rationale = StrictCharField(
        max_length=MAX_WORDS, allow_blank=True, required=False, default="", help_text="Why."
    )
    default_action = serializers.CharField(read_only=True)
    default_rationale = serializers.CharField(read_only=True)
    is_own = serializers.BooleanField(
        read_only=True, help_text="The workspace's own action, not the default."
    )


ENTRY_EXAMPLE = {
    "index": 0,
    "name": "Champions",
    "action": "Hand-written card with the next parcel; never a discount code.",
    "rationale": "Our best customers buy without discounts.",
    "default_action": "Reward and involve: early access, loyalty perks, referral programme; "
    "no discounts.",
    "default_rationale": "They buy often, spend most and bought recently; protect margin and "
    "ask for advocacy.",
    "is_own": True,
}
CHANGE_NOTE = (
    "Runs saved from then on show the action; a saved run keeps the advice it was made with, "
    "so publish a new run to show a change."
)


def _known_or_404(index: int) -> None:
    if not 0 <= index < len(NAME_RULES):
        raise ApiProblem("No segment name with this index.", status=404, code="not_found")


def _entry_or_404(workspace, index: int) -> PlaybookRow:
    _known_or_404(index)
    return playbook_rows(workspace=workspace)[index]


class ReadOrManage(APIView):
    def get_permissions(self):
        needed = CanViewRunReports if self.request.method in SAFE_METHODS else CanManageRuns
        return [*super().get_permissions(), needed()]


@extend_schema(tags=["playbook"])
class PlaybookApi(ReadOrManage):
    @extend_schema(
        summary="List the playbook",
        description="Every segment name the engine gives, with the action a run saved now "
        "would carry. " + CHANGE_NOTE,
        responses={200: PlaybookEntrySerializer(many=True), **error_responses(401, 403)},
        examples=[OpenApiExample("Champions", value=[ENTRY_EXAMPLE], response_only=True)],
    )
    def get(self, request):
        rows = playbook_rows(workspace=request.workspace)
        return Response(PlaybookEntrySerializer(rows, many=True).data)


@extend_schema(tags=["playbook"])
class PlaybookEntryApi(ReadOrManage):
    @extend_schema(
        summary="Get one name's action",
        responses={200: PlaybookEntrySerializer, **error_responses(401, 403, 404)},
        examples=[OpenApiExample("Champions", value=ENTRY_EXAMPLE, response_only=True)],
    )
    def get(self, request, index: int):
        return Response(PlaybookEntrySerializer(_entry_or_404(request.workspace, index)).data)

    @extend_schema(
        summary="Set one name's action",
        description="The workspace's own action for the name (audited). " + CHANGE_NOTE,
        request=PlaybookEntrySerializer,
        responses={200: PlaybookEntrySerializer, **error_responses(400, 401, 403, 404)},
        examples=[
            OpenApiExample(
                "Our own words",
                value={k: ENTRY_EXAMPLE[k] for k in ("action", "rationale")},
                request_only=True,
            )
        ],
    )
    def put(self, request, index: int):
        _known_or_404(index)  # before reading the body: a bad index is a 404, not a 400
        serializer = PlaybookEntrySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        playbook_set(
            workspace=request.workspace,
            index=index,
            action=serializer.validated_data["action"],
            rationale=serializer.validated_data["rationale"],
            user=request.user,
            request=request,
        )
        return Response(PlaybookEntrySerializer(_entry_or_404(request.workspace, index)).data)
