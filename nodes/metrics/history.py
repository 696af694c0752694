"""Consolidated history, as in an RRD: every sample updates the average and maximum of its
minute in the first tier; once a period of a tier is over, the collector rolls it up into
the next coarser tier (series.TIERS). A point left from an earlier turn of a ring is
replaced. Each step is one statement for all the subjects it touches (a roll-up: one per
finished period), the same SQL on SQLite and PostgreSQL."""

from django.db import connection, transaction

from nodes.metrics.models import Point
from nodes.metrics.series import SERIES, TIERS, TIMEFRAMES, Consolidation

TABLE = Point._meta.db_table
KEY = ("kind", "subject_id", "tier", "slot")
VALUES = [f"{series}_{cf}" for series in SERIES for cf in ("avg", "max")]
COLUMNS = [*KEY, "period_start", "samples", *VALUES]


def _merge(column, combine):
    """SET clause of one column: the new figure alone when the slot held an older period or
    nothing, the old one when the new has none, else both combined."""
    old, new = f"{TABLE}.{column}", f"excluded.{column}"
    return (
        f"{column} = CASE WHEN {TABLE}.period_start <> excluded.period_start OR {old} IS NULL "
        f"THEN {new} WHEN {new} IS NULL THEN {old} ELSE {combine(old, new)} END"
    )


def _average(old, new):
    weights = f"{TABLE}.samples", "excluded.samples"
    return f"({old} * {weights[0]} + {new} * {weights[1]}) / ({weights[0]} + {weights[1]})"


def _maximum(old, new):
    return f"CASE WHEN {new} > {old} THEN {new} ELSE {old} END"


def _on_conflict():
    merges = [_merge(c, _average if c.endswith("_avg") else _maximum) for c in VALUES]
    samples = (
        f"samples = CASE WHEN {TABLE}.period_start = excluded.period_start "
        f"THEN {TABLE}.samples + excluded.samples ELSE excluded.samples END"
    )
    # Every right-hand side reads the row as it was before this update, period_start included.
    return (
        f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {', '.join(merges)}, {samples}, "
        "period_start = excluded.period_start"
    )


def insert_many(table, columns, rows, on_conflict):
    """Insert (or, by on_conflict, merge) rows into table: each interval writes one row per
    instance, so this is the collector's hottest path."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy_then_insert(table, columns, rows, on_conflict)
        return
    placeholders = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) {on_conflict}",  # noqa: S608
            rows,
        )


def _copy_then_insert(table, columns, rows, on_conflict):
    """PostgreSQL plans and runs every row of an executemany apart (Django binds parameters
    on the client): COPY the rows into a temporary table, then merge them in one statement,
    ten times faster."""
    names = ", ".join(columns)
    incoming = f"incoming_{table}"
    # The models' own names alone: every value travels through COPY.
    create = f"CREATE TEMPORARY TABLE IF NOT EXISTS {incoming} ON COMMIT DELETE ROWS AS "
    create += f"SELECT {names} FROM {table} WITH NO DATA"  # noqa: S608
    merge = f"INSERT INTO {table} ({names}) SELECT {names} FROM {incoming} WHERE true "  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(create)
        with cursor.cursor.copy(f"COPY {incoming} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(merge + on_conflict)
        # For the next call in the same transaction (cheaper than TRUNCATE on a small table).
        cursor.execute(f"DELETE FROM {incoming}")  # noqa: S608


ON_CONFLICT = _on_conflict()


def _roll_up_sql(index, subjects):
    """Merge one finished period of tier index - 1 into tier index for that many subjects.
    Each row is found by its whole key, so the cost follows the subjects, not the table."""
    return (
        f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "  # noqa: S608
        f"SELECT kind, subject_id, {index}, %s, %s, samples, {', '.join(VALUES)} FROM {TABLE} "
        f"WHERE kind = %s AND tier = {index - 1} AND slot = %s AND period_start = %s "
        f"AND subject_id IN ({', '.join(['%s'] * subjects)}) {ON_CONFLICT}"
    )


ROLL_UP_BATCH = 5000  # subjects per statement, well inside SQLite's limit on parameters


def record(kind, figures_by_subject, unix_time):
    """Add one sample per subject ({subject id: {series: value or None}}) to its minute."""
    minute = TIERS[0]
    slot, start = minute.slot(unix_time), minute.period_start(unix_time)
    rows = []
    for subject_id, figures in figures_by_subject.items():
        values = [figures.get(series) for series in SERIES for _ in ("avg", "max")]
        rows.append((kind, subject_id, 0, slot, start, 1, *values))
    insert_many(TABLE, COLUMNS, rows, ON_CONFLICT)


def roll_up(kind, subject_ids, since, until):
    """Merge the periods of each tier that finished in [since, until) into the next coarser
    tier: minutes into half hours, half hours into six hours, six hours into weeks. (So a
    coarser tier's latest point holds what the tier below has finished; rolling every
    minute into every tier would cost three times the writes.) Each call continues the
    previous one's until: each period is rolled up once."""
    batches = [
        subject_ids[i : i + ROLL_UP_BATCH] for i in range(0, len(subject_ids), ROLL_UP_BATCH)
    ]
    with connection.cursor() as cursor:
        for index in range(1, len(TIERS)):
            source, tier = TIERS[index - 1], TIERS[index]
            end = source.period_start(until)
            for start in range(
                max(source.period_start(since), end - source.span), end, source.step
            ):
                where = [kind, source.slot(start), start]
                for batch in batches:
                    cursor.execute(
                        _roll_up_sql(index, len(batch)),
                        [tier.slot(start), tier.period_start(start), *where, *batch],
                    )


def series(kind, subject_id, names, timeframe, cf, unix_time):
    """The API's shape: {timeframe, cf, step, series: {name: [[unix time, value or None]]}},
    one pair per step of the timeframe up to the step holding unix_time."""
    frame = TIMEFRAMES[timeframe]
    tier = TIERS[frame.tier]
    end = tier.period_start(unix_time)
    start = end - (frame.seconds // tier.step - 1) * tier.step
    suffix = "avg" if cf == Consolidation.AVERAGE else "max"
    rows = Point.objects.filter(
        kind=kind, subject_id=subject_id, tier=frame.tier, period_start__range=(start, end)
    ).values_list("period_start", *[f"{name}_{suffix}" for name in names])
    known = {row[0]: row[1:] for row in rows}
    gap = (None,) * len(names)
    steps = range(start, end + 1, tier.step)
    return {
        "timeframe": timeframe,
        "cf": cf,
        "step": tier.step,
        "series": {
            name: [[t, known.get(t, gap)[i]] for t in steps] for i, name in enumerate(names)
        },
    }
