"""What every inventory page shares: visibility, admin-only editing, search and filters."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.mixins import UserPassesTestMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.generic import CreateView, DetailView, ListView, UpdateView

from nodes import operations
from nodes.ids import spelled_as_id
from nodes.listing import CountingPaginator, prefix


@dataclass(frozen=True)
class Column:
    """One column of a list page: a label and a dotted attribute path of the row."""

    label: str
    path: str
    link: bool = False
    badge: bool = False
    staff_only: bool = False  # about what members may not see (nodes)


def carried_out(request, operation, done, back):
    """operation() for a page's button: a 403 when the user may not, its refusal as an
    error message, or done as an info one; then back to the page of back."""
    try:
        operation()
    except operations.NotAllowed as error:
        raise PermissionDenied(error.message) from error
    except operations.Refused as error:
        messages.error(request, error.message)
    else:
        messages.info(request, done)
    return redirect(back)


def shown_to(user, columns):
    return [column for column in columns if user.is_staff or not column.staff_only]


class VisibleMixin:
    """Rows come only from `Model.objects.for_user(user)`: what you may not see is a 404."""

    model = None
    slug_url_kwarg = "key"

    def visible(self):
        return self.model.objects.for_user(self.request.user)

    def get_queryset(self):
        return self.visible()


class StaffRequiredMixin(UserPassesTestMixin):
    """Only admins may change the inventory; a member gets a 403."""

    permission_denied_message = "Only admins can change the cloud's inventory."

    def test_func(self):
        return self.request.user.is_staff

    def handle_no_permission(self):
        raise PermissionDenied(self.get_permission_denied_message())


class InventoryListView(VisibleMixin, ListView):
    """A searchable, filterable, paginated table of one model."""

    template_name = "nodes/object_list.html"
    paginate_by = 25
    paginator_class = CountingPaginator
    columns: list[Column] = []
    # Fields the search box looks in: "field" for the text anywhere in it (a scan of the
    # rows the filters leave), "^field" for an id starting with it, typed in any case, over
    # the field's index.
    search_fields: list[str] = []
    filters: dict = {}  # field lookup: choices, or a function returning them
    filter_labels: dict[str, str] = {}
    create_url_name = None
    members_create = False  # members may create these too (instances)
    more_links: list[tuple[str, str]] = []  # (label, URL name) beside New, for everyone
    empty_hint = ""
    live_refresh = False  # re-read every 3 s (htmx), for rows that change by themselves

    def get_queryset(self):
        rows = super().get_queryset()
        query = self.request.GET.get("q", "").strip()
        if query and self.search_fields:
            rows = rows.filter(self.search_match(query))
        for field, choices in self.filter_choices().items():
            value = self.request.GET.get(field, "")
            if value in {str(key) for key, _ in choices}:
                rows = rows.filter(**{field: value})
        return rows

    def search_match(self, query):
        """What the search box finds: rows with the query in any of search_fields."""
        match = Q()
        for field in self.search_fields:
            if field.startswith("^"):
                match |= prefix(field[1:], spelled_as_id(query))
            else:
                match |= Q(**{f"{field}__icontains": query})
        return match

    def get_template_names(self):
        if self.request.headers.get("HX-Target") == "list-body":  # the live list's poll
            return ["nodes/partials/list_body.html"]
        return super().get_template_names()

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        patch_vary_headers(response, ["HX-Target"])  # the page and its rows share a URL
        return response

    def filter_choices(self):
        return {
            field: choices() if callable(choices) else choices
            for field, choices in self.filters.items()
        }

    def filter_label(self, field):
        return self.filter_labels.get(field) or field.replace("__", " ").replace("_", " ")

    def get_context_data(self, **kwargs):
        params = self.request.GET.copy()
        params.pop("page", None)
        return super().get_context_data(
            columns=shown_to(self.request.user, self.columns),
            title=self.model._meta.verbose_name_plural.capitalize(),
            filter_choices=[
                (field, self.filter_label(field), choices, self.request.GET.get(field, ""))
                for field, choices in self.filter_choices().items()
            ],
            query=self.request.GET.get("q", ""),
            searchable=bool(self.search_fields),
            filtered=any(self.request.GET.get(f) for f in ["q", *self.filters]),
            querystring=params.urlencode(),
            create_url_name=self.create_url_name,
            can_create=self.create_url_name and (self.request.user.is_staff or self.members_create),
            empty_hint=self.empty_hint,
            live_refresh=self.live_refresh,
            **kwargs,
        )


class InventoryDetailView(VisibleMixin, DetailView):
    """A detail page: its fields and extra_template make the part that may change by itself,
    which live_url_name's view (a DetailFragment of the same class) serves alone for htmx
    to poll; static_template is rendered once, below it."""

    template_name = "nodes/object_detail.html"
    fields: list[Column] = []
    edit_url_name = None
    extra_template = None
    static_template = None
    live_url_name = None  # the fragment's URL, for objects that change by themselves

    def get_context_data(self, **kwargs):
        live_url = (
            reverse(self.live_url_name, args=[self.kwargs["key"]]) if self.live_url_name else ""
        )
        return super().get_context_data(
            fields=shown_to(self.request.user, self.fields),
            live_url=live_url,
            static_template=self.static_template,
            title=str(self.object),
            kind=self.model._meta.verbose_name,
            edit_url_name=self.edit_url_name,
            extra_template=self.extra_template,
            **kwargs,
        )


class DetailFragment:
    """Mixed in before a detail view: the same object and context, only the live part."""

    template_name = "nodes/partials/detail_live.html"


class InventoryCreateView(StaffRequiredMixin, CreateView):
    template_name = "nodes/object_form.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(title=f"New {self.model._meta.verbose_name}", **kwargs)


class InventoryUpdateView(StaffRequiredMixin, VisibleMixin, UpdateView):
    template_name = "nodes/object_form.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(title=f"Edit {self.object}", **kwargs)
