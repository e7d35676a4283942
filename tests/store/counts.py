"""What ``run_days`` must hold: the runs counted afresh, compared with the counts kept."""

from __future__ import annotations

from sqlalchemy import Engine, text

from flowruns.odata.literals import TICKS_PER_DAY

_KEPT = (
    "SELECT tenant_id, start_date_time, type, status, sum(runs) FROM run_days "
    "GROUP BY 1, 2, 3, 4 HAVING sum(runs) <> 0 ORDER BY 1, 2, 3, 4"
)
_D = TICKS_PER_DAY
_DAY = f"start_date_time - ((start_date_time % {_D}) + {_D}) % {_D}"
_RECOUNTED = (
    f"SELECT tenant_id, {_DAY}, type, status, count(*) FROM runs "
    "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
)


def assert_counts_kept(engine: Engine) -> int:
    """``run_days``, summed over slots, equals the runs counted per tenant, day, type and
    status; the run total."""
    with engine.connect() as connection:
        kept = [tuple(row) for row in connection.execute(text(_KEPT))]
        recounted = [tuple(row) for row in connection.execute(text(_RECOUNTED))]
    assert kept == recounted
    return sum(int(row[-1]) for row in recounted)
