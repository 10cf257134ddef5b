import math

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .forms import ApiTokenForm
from .models import ApiToken
from .services import api_token_create, api_token_revoke
from .throttling import sign_in_wait


class LoginView(auth_views.LoginView):
    """Django's login page under the token endpoint's limits (per address, per username).

    A refused attempt is answered 429 with Retry-After before any password is checked, so
    it counts towards no lockout; django-axes still locks a username+address pair out.
    """

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        wait = sign_in_wait(request)
        if wait is None:
            return super().post(request, *args, **kwargs)
        seconds = max(1, math.ceil(wait))
        # Unbound (a bound form would authenticate while cleaning), with the username kept.
        username = request.POST.get("username", "")
        form = self.get_form_class()(request, initial={"username": username})
        form.cleaned_data = {}  # add_error expects a cleaned form
        form.add_error(
            None,
            ValidationError(
                f"Too many sign-in attempts from this address or for this username. "
                f"Try again in {seconds} seconds.",
                code="throttled",
            ),
        )
        response = self.render_to_response(self.get_context_data(form=form))
        response.status_code = 429
        response["Retry-After"] = str(seconds)
        return response


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
