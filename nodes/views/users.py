"""Pages for admins to manage people: create accounts (with a password shown once), edit
and deactivate them, and set quotas: the defaults and each member's own."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from nodes.choices import VmState
from nodes.forms import NewUserForm, QuotaForm, UserForm
from nodes.models import Quota
from nodes.operations import Refused
from nodes.operations.accounts import check_own_role, create_account, set_active
from nodes.querysets import users_for
from nodes.views.base import (
    Column,
    InventoryDetailView,
    InventoryListView,
    InventoryUpdateView,
    StaffRequiredMixin,
)
from nodes.views.instances import quota_of

ADMINS_ONLY = "Only admins manage users and quotas."
YES_NO = [("True", "yes"), ("False", "no")]


def admin_user(request, key):
    """The account named key, for an admin; a member gets a 403."""
    if not request.user.is_staff:
        raise PermissionDenied(ADMINS_ONLY)
    return get_object_or_404(users_for(request.user), username=key)


class UserMixin(StaffRequiredMixin):
    model = get_user_model()
    slug_field = "username"
    context_object_name = "person"  # "user", the default, would hide the one logged in
    permission_denied_message = ADMINS_ONLY

    def visible(self):
        return users_for(self.request.user)


class UserList(UserMixin, InventoryListView):
    columns = [
        Column("Username", "username", link=True),
        Column("Name", "get_full_name"),
        Column("Email", "email"),
        Column("Admin", "is_staff"),
        Column("Active", "is_active"),
        Column("Live instances", "live_instances"),
        Column("Own quota", "own_quota"),
        Column("Last login", "last_login"),
    ]
    search_fields = ["username", "first_name", "last_name", "email"]
    filters = {"is_staff": YES_NO, "is_active": YES_NO}
    filter_labels = {"is_staff": "admin", "is_active": "active"}
    create_url_name = "kumo:user_create"
    empty_hint = "Create accounts for the people who launch instances."

    def get_queryset(self):
        live = ~Q(instances__vm_state=VmState.DELETED)
        return (
            super()
            .get_queryset()
            .annotate(
                live_instances=Count("instances", filter=live),
                own_quota=Exists(Quota.objects.filter(user=OuterRef("pk"))),
            )
            .order_by("username")
        )


class UserDetail(UserMixin, InventoryDetailView):
    fields = [
        Column("Name", "get_full_name"),
        Column("Email", "email"),
        Column("Admin", "is_staff"),
        Column("Active", "is_active"),
        Column("Joined", "date_joined"),
        Column("Last login", "last_login"),
    ]
    edit_url_name = "kumo:user_edit"
    extra_template = "nodes/user_manage.html"

    def get_context_data(self, **kwargs):
        person = self.object
        quota = Quota.of(person)
        return super().get_context_data(
            quota=quota_of(person),
            own_quota=quota.user_id == person.pk,
            quota_form=QuotaForm(instance=quota),
            is_self=person == self.request.user,
            **kwargs,
        )


class UserEdit(UserMixin, InventoryUpdateView):
    form_class = UserForm

    def form_valid(self, form):
        try:
            check_own_role(self.request.user, self.object, form.cleaned_data["is_staff"])
        except Refused as error:
            form.add_error(error.field, error.message)
            return self.form_invalid(form)
        return super().form_valid(form)


def user_create(request):
    """A new account; without a password given, one is generated and shown once."""
    if not request.user.is_staff:
        raise PermissionDenied(ADMINS_ONLY)
    form = NewUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        person, generated = create_account(form)
        if not generated:
            messages.success(request, f"Created {person.username}.")
            return redirect("kumo:user_detail", person.username)
        context = {"person": person, "password": generated}
        response = render(request, "nodes/user_created.html", context)
        response["Cache-Control"] = "no-store"  # the password must not linger anywhere
        return response
    return render(request, "nodes/object_form.html", {"form": form, "title": "New user"})


@require_POST
def user_set_active(request, key, active):
    """Deactivate or reactivate an account (operations.accounts.set_active)."""
    person = admin_user(request, key)
    try:
        set_active(request.user, person, active)
    except Refused as error:
        messages.error(request, error.message)
    else:
        done = "can log in again" if active else "is deactivated: logins, API and consoles end"
        messages.success(request, f"{person.username} {done}.")
    return redirect("kumo:user_detail", key)


@require_POST
def user_quota(request, key):
    """Set the member's own limits, or ("use_defaults") go back to the defaults."""
    person = admin_user(request, key)
    if "use_defaults" in request.POST:
        Quota.objects.filter(user=person).delete()
        messages.success(request, f"{person.username} has the default quota again.")
        return redirect("kumo:user_detail", key)
    quota = Quota.objects.filter(user=person).first() or Quota(user=person)
    form = QuotaForm(request.POST, instance=quota)
    if form.is_valid():
        form.save()
        messages.success(request, f"Saved {person.username}'s own quota.")
    else:
        errors = "; ".join(f"{field}: {' '.join(e)}" for field, e in form.errors.items())
        messages.error(request, f"The quota was not saved ({errors}).")
    return redirect("kumo:user_detail", key)


def quota_defaults(request):
    """The limits of every member without a quota of their own."""
    if not request.user.is_staff:
        raise PermissionDenied(ADMINS_ONLY)
    form = QuotaForm(request.POST or None, instance=Quota.defaults())
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Saved the default quota.")
        return redirect("kumo:user_list")
    title = "Default quota (members without one of their own)"
    return render(request, "nodes/object_form.html", {"form": form, "title": title})
