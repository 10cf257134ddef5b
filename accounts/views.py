from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .forms import ApiTokenForm
from .models import ApiToken
from .services import api_token_create, api_token_revoke


def api_tokens(request: HttpRequest) -> HttpResponse:
    """The user's API tokens: create one (its secret is shown once) or revoke one."""
    new_secret = None
    if request.method == "POST":
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            _, new_secret = api_token_create(user=request.user, **form.cleaned_data)
            messages.success(request, "Token created. Copy it now: it will not be shown again.")
            form = ApiTokenForm()
    else:
        form = ApiTokenForm()
    tokens = ApiToken.objects.filter(user=request.user).order_by("-created")
    return render(
        request,
        "accounts/api_tokens.html",
        {"form": form, "tokens": tokens, "new_secret": new_secret},
    )


@require_POST
def api_token_revoke_view(request: HttpRequest, token_key: str) -> HttpResponse:
    if api_token_revoke(user=request.user, token_key=token_key):
        messages.success(request, "Token revoked: it no longer works.")
    else:
        messages.error(request, "No such token.")
    return redirect("api-tokens")
