"""The admin site is the site administrators' (superusers'): workspaces with their members,
users, and every workspace's tokens. A workspace's own admin role manages its members on the
workspace's members page instead (accounts.views.members)."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db import transaction
from django.forms.formsets import BaseFormSet
from django.forms.models import BaseInlineFormSet, InlineForeignKeyField
from django.utils.text import capfirst

from audit.models import AuditEntry
from workspaces.admin import WorkspaceAdmin
from workspaces.models import Workspace

from .models import ApiToken, Membership
from .services import api_token_record_revoked, membership_record

# Only a superuser may touch these: each one is a way past the roles (a group or a single
# permission applies in every workspace).
_SUPERUSER_ONLY_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")
# A user may not change their own standing.
_OWN_STANDING_FIELDS = ("is_active", *_SUPERUSER_ONLY_FIELDS)


class MembershipAdminForm(forms.ModelForm):
    """A membership's form, its one-role-per-workspace check made with the plain manager:
    Django checks a model's constraints through the default manager, which refuses to read
    without a workspace."""

    def _post_clean(self):
        self.instance.validate_constraints = _constraints_checked_by_the_form
        super()._post_clean()

    def validate_unique(self):
        membership = self.instance
        if membership.user_id is None or membership.workspace_id is None:
            return  # a new workspace: the formset checks its rows against each other
        taken = Membership.unscoped.filter(
            workspace_id=membership.workspace_id, user_id=membership.user_id
        ).exclude(pk=membership.pk)
        if taken.exists():
            self.add_error(None, "This user already belongs to this workspace.")


class MembershipFormSet(BaseInlineFormSet):
    """Memberships inline, their hidden id field choosing among the formset's own rows:
    Django's reads its choices through the default manager, which refuses to read without
    a workspace. (Both parents, Workspace and User, have plain auto keys.)"""

    def add_fields(self, form, index):
        self._pk_field = pk = self.model._meta.pk
        form.fields[pk.name] = forms.ModelChoiceField(
            self.get_queryset(),
            initial=None if form.instance._state.adding else form.instance.pk,
            required=False,
            widget=forms.HiddenInput,
        )
        BaseFormSet.add_fields(self, form, index)  # the delete box
        form.fields[self.fk.name] = InlineForeignKeyField(
            self.instance, label=capfirst(self.fk.verbose_name)
        )


class _MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipAdminForm
    formset = MembershipFormSet
    extra = 1
    fields = ("user", "workspace", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)

    def get_queryset(self, request):
        # The admin site spans workspaces on purpose; the workspace is a column.
        return Membership.unscoped.select_related("user", "workspace")


class AuditedMembershipsMixin:
    """Memberships added, re-roled or removed in the admin go to the workspace's audit log,
    in the admin's transaction (a form it refuses leaves no entry)."""

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)  # type: ignore[misc]
        previous = dict(
            Membership.unscoped.filter(
                pk__in=[f.instance.pk for f in formset.forms if f.instance.pk]
            ).values_list("pk", "role")
        )
        for removed in formset.deleted_forms:
            if removed.instance.pk:
                membership_record(
                    membership=removed.instance,
                    action=AuditEntry.Action.MEMBER_REMOVED,
                    actor=request.user,
                )
        super().save_formset(request, form, formset, change)  # type: ignore[misc]
        for added in formset.new_objects:
            membership_record(
                membership=added, action=AuditEntry.Action.MEMBER_ADDED, actor=request.user
            )
        for changed, fields in formset.changed_objects:
            if "role" in fields and previous.get(changed.pk) != changed.role:
                membership_record(
                    membership=changed,
                    action=AuditEntry.Action.ROLE_CHANGED,
                    actor=request.user,
                    before=previous.get(changed.pk, ""),
                )


class WorkspaceMembersInline(_MembershipInline):
    """A workspace's members and their roles."""

    fields = ("user", "role", "created_at")
    verbose_name = "member"


class UserWorkspacesInline(_MembershipInline):
    """The workspaces a user belongs to, with their role in each."""

    fields = ("workspace", "role", "created_at")
    autocomplete_fields = ()
    verbose_name = "workspace membership"


admin.site.unregister(Workspace)


@admin.register(Workspace)
class WorkspaceWithMembersAdmin(AuditedMembershipsMixin, WorkspaceAdmin):
    inlines = [WorkspaceMembersInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "user",
        "workspace",
        "token_key",
        "read_only",
        "created",
        "expiry",
        "last_used_at",
    )
    list_filter = ("workspace", "read_only")
    list_select_related = ("user", "workspace")
    search_fields = ("name", "user__username", "token_key")
    readonly_fields = (
        "digest",
        "token_key",
        "user",
        "workspace",
        "created",
        "expiry",
        "last_used_at",
    )
    fields = (
        "name",
        "read_only",
        "user",
        "workspace",
        "token_key",
        "created",
        "expiry",
        "last_used_at",
    )

    def get_queryset(self, request):
        # The admin site spans workspaces on purpose; the workspace is a column.
        return ApiToken.unscoped.select_related("user", "workspace")

    def has_add_permission(self, request) -> bool:
        # A token's secret exists only at creation; users create theirs on the tokens page.
        return False

    def delete_model(self, request, obj):
        with transaction.atomic():
            api_token_record_revoked(token=obj, actor=request.user)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for token in queryset.select_related("user", "workspace"):
                api_token_record_revoked(token=token, actor=request.user)
            super().delete_queryset(request, queryset)


admin.site.unregister(User)


@admin.register(User)
class SiteUserAdmin(AuditedMembershipsMixin, UserAdmin):
    """Django's user admin with each user's workspace memberships.

    A superuser keeps the whole of it. A staff user given user permissions by a superuser
    edits users' details only: no staff or superuser flag, group or single permission (each
    would reach past the roles, into every workspace), no hands on a superuser and no
    change to their own standing. Roles are memberships of a workspace, not groups.
    """

    inlines = [UserWorkspacesInline]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser or obj is None:
            return fieldsets
        return [
            (name, {**options, "fields": _without(options["fields"], _SUPERUSER_ONLY_FIELDS)})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if request.user.is_superuser or obj is None:
            return readonly
        readonly += [name for name in _SUPERUSER_ONLY_FIELDS if name not in readonly]
        if obj.pk == request.user.pk:
            readonly += [name for name in _OWN_STANDING_FIELDS if name not in readonly]
        return readonly

    def get_inlines(self, request, obj):
        # Memberships are the site administrators' to give.
        return self.inlines if request.user.is_superuser else []

    def has_change_permission(self, request, obj=None) -> bool:
        if _is_beyond(request, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if _is_beyond(request, obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        # Deleting a user removes them from each workspace: each one's log says so.
        with transaction.atomic():
            _record_memberships_removed(request, [obj])
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            _record_memberships_removed(request, queryset)
            super().delete_queryset(request, queryset)


def _record_memberships_removed(request, users) -> None:
    memberships = Membership.unscoped.filter(user__in=list(users)).select_related(
        "user", "workspace"
    )
    for membership in memberships:
        membership_record(
            membership=membership, action=AuditEntry.Action.MEMBER_REMOVED, actor=request.user
        )


def _constraints_checked_by_the_form(exclude=None) -> None:
    """MembershipAdminForm.validate_unique checks the only constraint, one_role_per_workspace."""


def _is_beyond(request, user) -> bool:
    """Whether `user` is a superuser the requesting non-superuser must leave alone."""
    return user is not None and user.is_superuser and not request.user.is_superuser


def _without(fields, names):
    return tuple(field for field in fields if field not in names)
