"""Each workspace's playbook: the action shown beside every segment name. The engine's
playbook is the default; a workspace's own action for a name replaces it in the runs saved
from then on (a saved run keeps the advice it was made with, like the rest of its report)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from audit.log import record

from .engine.naming import NAME_RULES, base_of, playbook_entry
from .models import PlaybookAction


@dataclass(frozen=True)
class PlaybookRow:
    index: int  # the name's place in the engine's rules: the page's key for it
    name: str
    default_action: str
    default_rationale: str
    action: str  # the workspace's own, else the default
    rationale: str
    is_own: bool


def playbook_rows(*, workspace) -> list[PlaybookRow]:
    own = playbook_overrides(workspace=workspace)
    return [
        PlaybookRow(
            index,
            rule.name,
            rule.action,
            rule.rationale,
            *own.get(rule.name, (rule.action, rule.rationale)),
            rule.name in own,
        )
        for index, rule in enumerate(NAME_RULES)
    ]


def playbook_overrides(*, workspace) -> dict[str, tuple[str, str]]:
    """name -> (action, rationale) where the workspace has its own."""
    return {
        name: (action, rationale)
        for name, action, rationale in PlaybookAction.objects.in_workspace(workspace).values_list(
            "name", "action", "rationale"
        )
    }


def playbook_index(segment_name: str) -> int | None:
    """The playbook page's key for a (made-unique) segment name; None for a name no rule
    gives (runs stored before a rule was renamed)."""
    base = base_of(segment_name)
    return next((i for i, rule in enumerate(NAME_RULES) if rule.name == base), None)


def action_for(segment_name: str, default: tuple[str, str], overrides: dict) -> tuple[str, str]:
    """The action for a (made-unique) segment name: the workspace's, else the default."""
    return overrides.get(base_of(segment_name), default)


def playbook_outdated(segments: list[dict], *, workspace) -> list[str]:
    """The names of the saved segments whose action is not the one the playbook gives now
    (changed since their run was saved)."""
    overrides = playbook_overrides(workspace=workspace)
    return [
        s["name"]
        for s in segments
        if s["action"] != action_for(s["name"], playbook_entry(s["name"]), overrides)[0]
    ]


def playbook_set(*, workspace, index: int, action: str, rationale: str, user, request) -> None:
    """The workspace's own action for the name at ``index``; the default's words, or an
    empty action, go back to the default. Written in the audit log."""
    rule = NAME_RULES[index]
    action, rationale = action.strip(), rationale.strip()
    default = not action or (action, rationale) == (rule.action, rule.rationale)
    with transaction.atomic():
        workspace.lock()
        mine = (
            PlaybookAction.objects.in_workspace(workspace)
            .select_for_update()
            .filter(name=rule.name)
            .first()
        )
        if default and mine is None:
            return
        if default:
            change = "default"
        else:
            change = "changed" if mine else "set"
            mine = mine or PlaybookAction(workspace=workspace, name=rule.name)
            mine.action, mine.rationale, mine.updated_by = action, rationale, user
            mine.save()
        record(
            workspace=workspace,
            action="playbook_changed",
            actor=user,
            target=mine,
            request=request,
            details={
                "name": rule.name,
                "change": change,
                "action": mine.action if not default else rule.action,
            },
        )
        if default:
            mine.delete()
