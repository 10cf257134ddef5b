"""The playbook page: each segment name's action, the workspace's own or the default."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .forms import PlaybookForm
from .playbook import playbook_rows, playbook_set
from .views import MANAGE


@permission_required(MANAGE, raise_exception=True)
def playbook(request: HttpRequest) -> HttpResponse:
    return render(
        request, "clustering/playbook.html", {"rows": playbook_rows(workspace=request.workspace)}
    )


@permission_required(MANAGE, raise_exception=True)
def playbook_edit(request: HttpRequest, index: int) -> HttpResponse:
    rows = playbook_rows(workspace=request.workspace)
    if index >= len(rows):
        raise Http404("No such segment name")
    row = rows[index]
    initial = {"action": row.action, "rationale": row.rationale}
    form = PlaybookForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        playbook_set(
            workspace=request.workspace,
            index=index,
            action=form.cleaned_data["action"],
            rationale=form.cleaned_data["rationale"],
            user=request.user,
            request=request,
        )
        messages.success(request, f"Action for “{row.name}” saved: runs saved from now on show it.")
        return redirect("clustering:playbook")
    return render(request, "clustering/playbook_edit.html", {"form": form, "row": row})
