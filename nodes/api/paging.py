"""The API's lists: `limit` rows after `cursor`, in the list's own order made total by the
primary key, so that rows added or removed meanwhile never shift a page (keyset
pagination: each page costs the same, however deep).

A cursor is signed: one that was altered, is older than CURSOR_MAX_AGE_S, or belongs to
another list (another endpoint, or the same one with other filters) is a 400, as is a query
parameter the list does not know.
"""

import datetime
import uuid
from decimal import Decimal

from django.core import signing
from django.db.models import Q
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from nodes.listing import count_of

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
CURSOR_MAX_AGE_S = 24 * 3600
ALWAYS_ALLOWED = {"limit", "cursor", "format"}
SALT = "kumo.api.cursor"


def ordering_of(queryset):
    """[(field path, descending)] of the queryset's order, ending with the primary key."""
    names = list(queryset.query.order_by or queryset.model._meta.ordering)
    order = [(name.lstrip("-"), name.startswith("-")) for name in names]
    if not any(field in ("pk", "id") for field, _ in order):
        order.append(("pk", order[-1][1] if order else False))
    return order


def value_at(row, path):
    for name in path.split("__"):
        row = getattr(row, name)
    if isinstance(row, (datetime.datetime, datetime.date)):
        return row.isoformat()
    if isinstance(row, (Decimal, uuid.UUID)):
        return str(row)
    return row


def after(order, position):
    """Rows that come after position (the values of order's fields) in that order."""
    later = Q()
    for index, (field, descending) in enumerate(order):
        same = {name: position[earlier] for earlier, (name, _) in enumerate(order[:index])}
        beyond = {f"{field}__{'lt' if descending else 'gt'}": position[index]}
        later |= Q(**same, **beyond)
    return later


class KeysetPagination(BasePagination):
    """`?limit=` (at most MAX_LIMIT; more is lowered, and the answer says so) and `?cursor=`
    (the `next` of the page before). The answer's `count` is count_of's: exact up to
    10,000 rows (`count_exact`), beyond that at most a minute old."""

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.scope = scope_of(request, view)
        self.limit, self.clamped = limit_of(request)
        self.count, self.count_exact = count_of(queryset)
        self.order = ordering_of(queryset)
        if "cursor" in request.query_params:
            queryset = queryset.filter(after(self.order, self.position(request)))
        rows = list(queryset[: self.limit + 1])
        self.more = len(rows) > self.limit
        self.last = rows[self.limit - 1] if self.more else None
        return rows[: self.limit]

    def position(self, request):
        try:
            cursor = signing.loads(
                request.query_params["cursor"], salt=SALT, max_age=CURSOR_MAX_AGE_S
            )
        except signing.SignatureExpired as expired:
            raise ValidationError(
                {"cursor": ["This cursor has expired: start again from the first page."]}
            ) from expired
        except signing.BadSignature as forged:
            raise ValidationError({"cursor": ["Not a cursor Kumo gave."]}) from forged
        if cursor.get("list") != self.scope or len(cursor.get("after", [])) != len(self.order):
            raise ValidationError(
                {"cursor": ["This cursor is from another list (other filters or endpoint)."]}
            )
        return cursor["after"]

    def next_link(self):
        if self.last is None:
            return None
        after_last = [value_at(self.last, field) for field, _ in self.order]
        cursor = signing.dumps({"list": self.scope, "after": after_last}, salt=SALT)
        url = replace_query_param(self.request.build_absolute_uri(), "cursor", cursor)
        return replace_query_param(url, "limit", self.limit)

    def get_paginated_response(self, data):
        body = {
            "count": self.count,
            "count_exact": self.count_exact,
            "limit": self.limit,
            "next": self.next_link(),
            "results": data,
        }
        if self.clamped:
            body["limit_lowered"] = f"At most {MAX_LIMIT} rows a page: limit lowered to it."
        return Response(body)

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "count_exact", "limit", "next", "results"],
            "properties": {
                "count": {"type": "integer", "description": "Rows in the whole list."},
                "count_exact": {
                    "type": "boolean",
                    "description": "false: a large list's count, at most a minute old.",
                },
                "limit": {"type": "integer", "description": "The most rows of this page."},
                "next": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "description": "The next page (null: this is the last).",
                },
                "limit_lowered": {
                    "type": "string",
                    "description": f"Present when limit asked more than {MAX_LIMIT}.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        limit = f"Rows a page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}); more is lowered."
        return [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": limit,
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "From the `next` link of the page before.",
                "schema": {"type": "string"},
            },
        ]


def limit_of(request):
    """(rows a page, whether the limit asked was lowered to MAX_LIMIT)."""
    asked = request.query_params.get("limit", str(DEFAULT_LIMIT))
    try:
        limit = int(asked)
    except ValueError as error:
        raise ValidationError({"limit": ["A whole number of rows, from 1."]}) from error
    if limit < 1:
        raise ValidationError({"limit": ["A whole number of rows, from 1."]})
    return min(limit, MAX_LIMIT), limit > MAX_LIMIT


def scope_of(request, view):
    """The list a cursor belongs to: the endpoint and its filters. A query parameter the
    view does not list in `filter_params` is refused, naming those it knows."""
    known = ALWAYS_ALLOWED | set(getattr(view, "filter_params", ()))
    for name, values in request.query_params.lists():
        if any("\x00" in value for value in values):  # PostgreSQL refuses it in a query
            raise ValidationError({name: ["Null characters are not allowed."]})
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise ValidationError(
            {
                name: [f"Not a filter of this list; it takes {', '.join(sorted(known))}."]
                for name in unknown
            }
        )
    filters = sorted(
        [name, value] for name, value in request.query_params.items() if name not in ALWAYS_ALLOWED
    )
    return [request.path, filters]  # as a cursor's JSON gives it back
