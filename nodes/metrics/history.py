"""Consolidated history: every sample lands in one point of each tier (series.TIERS), whose
average and maximum it updates; a point left from an earlier turn of the ring is replaced.
One statement per interval for all subjects, the same SQL on SQLite and PostgreSQL."""

from django.db import connection

from nodes.metrics.models import Point
from nodes.metrics.series import SERIES, TIERS, TIMEFRAMES, Consolidation

TABLE = Point._meta.db_table
KEY = ("kind", "subject_id", "tier", "slot")


def _merge(column, combine):
    """SET clause of one column: the new sample alone when the slot held an older period or
    nothing, the old value when the sample has none, else both combined."""
    old, new = f"{TABLE}.{column}", f"excluded.{column}"
    return (
        f"{column} = CASE WHEN {TABLE}.period_start <> excluded.period_start OR {old} IS NULL "
        f"THEN {new} WHEN {new} IS NULL THEN {old} ELSE {combine(old, new)} END"
    )


def _average(old, new):
    return f"({old} * {TABLE}.samples + {new}) / ({TABLE}.samples + 1)"


def _maximum(old, new):
    return f"CASE WHEN {new} > {old} THEN {new} ELSE {old} END"


def _upsert_sql():
    columns = [*KEY, "period_start", "samples"]
    updates = []
    for series in SERIES:
        columns += [f"{series}_avg", f"{series}_max"]
        updates += [_merge(f"{series}_avg", _average), _merge(f"{series}_max", _maximum)]
    samples = (
        f"samples = CASE WHEN {TABLE}.period_start = excluded.period_start "
        f"THEN {TABLE}.samples + 1 ELSE 1 END"
    )
    # Every right-hand side reads the row as it was before this update, period_start included.
    # Built from the model's own column names alone: no value is formatted into it.
    placeholders = ", ".join(["%s"] * len(columns))
    return (
        f"INSERT INTO {TABLE} ({', '.join(columns)}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {', '.join(updates)}, {samples}, "
        "period_start = excluded.period_start"
    )


UPSERT = _upsert_sql()


def record(kind, figures_by_subject, unix_time):
    """Add one sample per subject ({subject id: {series: value or None}}) to every tier."""
    rows = []
    for subject_id, figures in figures_by_subject.items():
        values = []
        for series in SERIES:
            value = figures.get(series)
            values += [value, value]
        for index, tier in enumerate(TIERS):
            slot, start = tier.slot(unix_time), tier.period_start(unix_time)
            rows.append((kind, subject_id, index, slot, start, 1, *values))
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(UPSERT, rows)


def series(kind, subject_id, names, timeframe, cf, unix_time):
    """The API's shape: {timeframe, cf, step, series: {name: [[unix time, value or None]]}},
    one pair per step of the timeframe up to the step holding unix_time."""
    frame = TIMEFRAMES[timeframe]
    tier = TIERS[frame.tier]
    end = tier.period_start(unix_time)
    start = end - frame.seconds + tier.step
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
