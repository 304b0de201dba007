"""Times Tansu 0.6.0's per-record header lookup on a copy of a broker's SQLite store, without
and with the index start_tansu adds (scripts/bench-backlog, part "sweep").

  tansu_header_fetch.py BROKER_DB [LOOKUPS]

The query is Tansu's own (tansu-storage/src/sql/header_fetch.sql at tag v0.6.0, `$n` written
as `?n`): its lite engine runs it once for every record a fetch returns. Prints the query
plan's last step and the mean time of one lookup, both ways.
"""
import os
import shutil
import sqlite3
import sys
import tempfile
import time

HEADER_FETCH = """
select h.k, h.v
from header h
join record r on h.topition = r.topition and h.offset_id = r.offset_id
join topition tp on tp.id = r.topition
join topic t on tp.topic = t.id
join cluster c on t.cluster = c.id
where c.name = ?1
and t.name = ?2
and tp.partition = ?3
and r.offset_id = ?4
"""


def measure(db, lookups):
    cluster, topic, partition, low, high = db.execute(
        "select c.name, t.name, tp.partition, min(r.offset_id), max(r.offset_id)"
        " from record r join topition tp on tp.id = r.topition join topic t on tp.topic = t.id"
        " join cluster c on t.cluster = c.id group by r.topition order by count(*) desc limit 1").fetchone()
    plan = db.execute("explain query plan " + HEADER_FETCH, (cluster, topic, partition, low)).fetchall()[-1][-1]
    step = max((high - low) // lookups, 1)
    offsets = list(range(low, high + 1, step))[:lookups]
    headers = 0
    started = time.perf_counter()
    for offset in offsets:
        headers += len(db.execute(HEADER_FETCH, (cluster, topic, partition, offset)).fetchall())
    seconds = time.perf_counter() - started
    return plan, len(offsets), headers, seconds


def main():
    source, lookups = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "broker.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(source + suffix):
                shutil.copyfile(source + suffix, path + suffix)
        db = sqlite3.connect(path)
        rows = db.execute("select count(*) from header").fetchone()[0]
        db.execute("drop index if exists header_topition_offset_id")
        for label in ("without the index", "with the index"):
            if label == "with the index":
                started = time.perf_counter()
                db.execute("create index header_topition_offset_id on header (topition, offset_id)")
                db.commit()
                print(f"  building the index over {rows} header rows: {time.perf_counter() - started:.2f} s")
            plan, n, headers, seconds = measure(db, lookups)
            print(f"  {label}: {1000 * seconds / n:.3f} ms per record's header lookup"
                  f" ({n} lookups, {headers} headers; {rows} header rows; plan: {plan})")
        db.close()


if __name__ == "__main__":
    main()
