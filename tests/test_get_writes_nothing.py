"""A GET changes nothing: every URL of the console and the API, fetched by an admin and by a
member on a fresh database, runs no INSERT, UPDATE or DELETE."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve

from tests import test_authorization as matrix
from tests.test_authorization import ROWS, any_ids, as_resolved, client_for, filled, routes

ids, personas = matrix.ids, matrix.personas  # the matrix's fixtures, shared
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def urls_by_route():
    """{route: the matrix's URLs of it}, for every route of the console and the API."""
    found = {as_resolved(route): [] for route, _, _ in routes()}
    for _, url, _, _ in ROWS:
        found.setdefault(resolve(any_ids(url)).route, []).append(url)
    return found


@pytest.mark.parametrize("persona", ["admin", "a"])
def test_a_get_of_every_url_writes_nothing(persona, ids, personas, queue, sim_node):
    by_route = urls_by_route()
    assert [route for route, urls in by_route.items() if not urls] == []
    client = client_for(personas[persona], for_api=False)  # logging in writes; done before
    writes = {}
    for url in sorted({filled(url, ids) for urls in by_route.values() for url in urls}):
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        sql = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]
        if sql:
            writes[url] = sql
    assert writes == {}
