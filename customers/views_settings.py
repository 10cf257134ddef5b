"""The shop's settings page, for the workspace's admins."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.roles import SHOP_SETTINGS_PERMISSION
from workspaces.models import Workspace

from .forms import ShopSettingsForm
from .shop_settings import ShopSettingsRefused, currency_fixed_because, shop_settings_change


@require_http_methods(["GET", "POST"])
@permission_required(SHOP_SETTINGS_PERMISSION, raise_exception=True)
def shop_settings(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    fixed = currency_fixed_because(workspace)
    # A copy: the form writes its values onto its instance before they are saved or refused.
    instance = Workspace.objects.get(pk=workspace.pk)
    form = ShopSettingsForm(request.POST or None, instance=instance, currency_fixed=fixed)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            changes = {name: form.cleaned_data[name] for name in form.fields}
            try:
                changed = shop_settings_change(
                    workspace=workspace, by=request.user, changes=changes
                )
            except ShopSettingsRefused as refused:
                form.add_error(refused.field, str(refused))
            else:
                if changed:
                    labels = [str(form.fields[name].label).lower() for name in changed]
                    messages.success(request, f"Saved: {', '.join(labels)}.")
                else:
                    messages.info(request, "Nothing changed.")
                return redirect("shop-settings")
        status = 400
    return render(
        request,
        "customers/shop_settings.html",
        {"form": form, "currency_fixed": fixed},
        status=status,
    )
