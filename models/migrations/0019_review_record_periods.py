"""Review records made before records held their periods' dates (`periodStart`, `periodEnd`, `certifying`) get
them from the periods that still exist.

A review locks the periods of the bilans it consolidates (R7), so such a period stands as it stood when the review
was made: its first and last day and whether it is certifying are the ones the record would have held. A period
already deleted has nothing left to read; its entries keep the readers' fallback (the bilan's date for both days,
certifying). Plain SQL: the models may change after this file.
"""

import datetime as dt
import json

from tortoise import migrations
from tortoise.migrations import operations as ops


def _placeholders(postgres: bool, count: int) -> str:
    return ", ".join(f"${i}" for i in range(1, count + 1)) if postgres else ", ".join("?" * count)


def _day(value) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)[:10]


async def _fill(apps, schema_editor) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    _, reviews = await client.execute_query("SELECT id, record FROM interim_review WHERE record IS NOT NULL")
    records = {}
    for row in reviews:
        record = json.loads(row["record"]) if isinstance(row["record"], (str, bytes)) else row["record"]
        if any("periodStart" not in entry or "certifying" not in entry for entry in record.get("bilans", [])):
            records[row["id"]] = record
    period_ids = sorted({entry["period"] for record in records.values() for entry in record["bilans"]})
    if not period_ids:
        return
    _, periods = await client.execute_query(
        f"SELECT id, start_date, end_date, certifying FROM period WHERE id IN ({_placeholders(postgres, len(period_ids))})",
        period_ids,
    )
    found = {row["id"]: row for row in periods}
    for review_id, record in records.items():
        changed = False
        for entry in record["bilans"]:
            period = found.get(entry["period"])
            if period is None:
                continue
            if "periodStart" not in entry:
                entry["periodStart"], entry["periodEnd"] = _day(period["start_date"]), _day(period["end_date"])
                changed = True
            if "certifying" not in entry:
                entry["certifying"] = bool(period["certifying"])
                changed = True
        if changed:
            await client.execute_query(
                f"UPDATE interim_review SET record = {'$1' if postgres else '?'} WHERE id = {'$2' if postgres else '?'}",
                [json.dumps(record, separators=(",", ":")), review_id],
            )


class Migration(migrations.Migration):
    dependencies = [("models", "0018_framework_shape_stamps")]

    initial = False

    operations = [ops.RunPython(_fill, ops.RunPython.noop)]
