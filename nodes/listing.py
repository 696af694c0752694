"""What every list shares at scale: prefix matches over an index, counts that do not scan a
large table on every request, and the planner statistics that keep SQLite on its indexes.

Pages number their pages (CountingPaginator); the API pages by cursor (nodes/api/paging.py).
"""

import hashlib
import logging
import sys

from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import CharField, F, Func, Q
from django.db.models.lookups import GreaterThanOrEqual, LessThan
from django.utils.functional import cached_property

log = logging.getLogger("nodes.listing")

EXACT_COUNT_UP_TO = 10_000  # beyond it a count is remembered, not made again per request
COUNT_KEPT_S = 60


def prefix(value, text):
    """Rows whose value (a field's name or an expression such as Lower("name")) starts with
    text, as a range an index on it answers: LIKE 'text%' is a table scan on SQLite, whose
    LIKE ignores case."""
    value = F(value) if isinstance(value, str) else value
    stem = text.rstrip(chr(sys.maxunicode))  # the last character has no next one
    if not stem:
        return Q(GreaterThanOrEqual(value, text))
    following = stem[:-1] + chr(ord(stem[-1]) + 1)
    return Q(GreaterThanOrEqual(value, text)) & Q(LessThan(value, following))


class AddressText(Func):
    """An IP address field as text to compare with: the column itself on SQLite (so that its
    index answers), HOST(column) on PostgreSQL (whose inet does not compare with text)."""

    function = "HOST"
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return compiler.compile(self.source_expressions[0])


def count_of(rows):
    """(how many rows, whether exactly): exact up to EXACT_COUNT_UP_TO, which costs at most
    that many index entries; beyond it a count of the whole that is at most COUNT_KEPT_S old."""
    ids = rows.order_by().values("pk")  # without the joins select_related adds
    bounded = ids[: EXACT_COUNT_UP_TO + 1].count()
    if bounded <= EXACT_COUNT_UP_TO:
        return bounded, True
    sql, params = ids.query.sql_with_params()
    key = "count:" + hashlib.sha256(repr((sql, params)).encode()).hexdigest()
    kept = cache.get(key)
    if kept is None:
        kept = ids.count()
        cache.set(key, kept, COUNT_KEPT_S)
    return kept, False


class CountingPaginator(Paginator):
    """Django's paginator with count_of's count; `count_exact` says which one it is."""

    @cached_property
    def _counted(self):
        return count_of(self.object_list)

    @cached_property
    def count(self):
        return self._counted[0]

    @property
    def count_exact(self):
        return self._counted[1]


def refresh_planner_statistics():
    """The database plans a filtered, sorted list over the right index only when it knows
    how the values spread (ANALYZE): SQLite never gathers them by itself, and PostgreSQL's
    autovacuum only after many rows changed."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log.info("planner statistics refreshed")
