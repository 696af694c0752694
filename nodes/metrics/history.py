"""Consolidated history, as in an RRD: every sample updates the average and maximum of its
minute in the first tier; once a minute is over, the collector rolls it up into the coarser
tiers (series.TIERS). A point left from an earlier turn of a ring is replaced. Each step is
one statement for all subjects, the same SQL on SQLite and PostgreSQL."""

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
        cursor.execute(f"TRUNCATE {incoming}")  # for the next call in the same transaction


ON_CONFLICT = _on_conflict()


def _rolled(column):
    """A column of the minutes that fall in one coarser step, merged: averages weighted by
    the samples that had a value, the maximum of the maxima."""
    if column.endswith("_max"):
        return f"MAX({column})"
    weights = f"SUM(CASE WHEN {column} IS NULL THEN NULL ELSE samples END)"
    return f"SUM({column} * samples) / {weights}"


def _roll_up_sql(index, tier):
    step = f"period_start / {tier.step}"  # the tiers' own integers, never a request's
    return (
        f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "  # noqa: S608
        f"SELECT kind, subject_id, {index}, {step} %% {tier.rows}, {step} * {tier.step}, "
        f"SUM(samples), {', '.join(_rolled(c) for c in VALUES)} FROM {TABLE} "
        "WHERE tier = 0 AND kind = %(kind)s AND period_start >= %(since)s "
        "AND period_start < %(until)s AND subject_id IN ({subjects}) "
        f"GROUP BY kind, subject_id, {step} {ON_CONFLICT}"
    )


ROLL_UPS = [_roll_up_sql(index, tier) for index, tier in enumerate(TIERS) if index]


def record(kind, figures_by_subject, unix_time):
    """Add one sample per subject ({subject id: {series: value or None}}) to its minute."""
    minute = TIERS[0]
    slot, start = minute.slot(unix_time), minute.period_start(unix_time)
    rows = []
    for subject_id, figures in figures_by_subject.items():
        values = [figures.get(series) for series in SERIES for _ in ("avg", "max")]
        rows.append((kind, subject_id, 0, slot, start, 1, *values))
    insert_many(TABLE, COLUMNS, rows, ON_CONFLICT)


def roll_up(kind, subjects_sql, subjects_params, since, until):
    """Merge the finished minutes [since, until) of the subjects that subjects_sql selects
    into every coarser tier. Each minute must be rolled up once."""
    params = {"kind": kind, "since": since, "until": until} | subjects_params
    with connection.cursor() as cursor:
        for sql in ROLL_UPS:
            cursor.execute(sql.replace("{subjects}", subjects_sql), params)


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
