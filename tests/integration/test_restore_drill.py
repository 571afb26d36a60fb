"""The restore drill (docs/deployment.md, "Backup and restore"), as a test.

The demo runs against a PostgreSQL database of its own, in a subprocess, as it would in
production. While it is writing, a dump is taken the way a consistent backup of a live database
is taken: a REPEATABLE READ transaction on the source exports its snapshot, every table's rows
are counted in that transaction, and ``pg_dump --snapshot`` dumps exactly that state (custom
format). The dump is restored with ``pg_restore`` into a fresh database, where the ledger must
verify clean (``manage.py inventory_verify``) and every table must hold the rows the snapshot
counted. The demo then finishes and the source verifies too.

The demo runs without its busy hour (``--busy-volume 0``): ten times the same kinds of orders,
which would more than double the drill's few minutes and add no kind of row.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from psycopg2 import sql

from tests.helpers import database_url, manage

# The demo prints this table title once its hour of orders is in; fulfillment (a wave, picks,
# a pickup, a return) and planning (43,200 rows of demand history, a forecast, an allocation)
# are still to come, so the dump is taken while it writes.
MID_DEMO = "An hour of orders"
DEMO_TIMEOUT = 600


def _url(name: str) -> str:
    return re.sub(r"/[^/]+$", f"/{name}", database_url())


def _admin() -> psycopg2.extensions.connection:
    conn = psycopg2.connect(_url("postgres"))
    conn.autocommit = True
    return conn


def _postgres_tool(name: str) -> str:
    """``pg_dump``/``pg_restore`` of the server's major version: Debian keeps each version's
    tools in its own directory, and a pg_dump older than the server refuses to dump."""
    major = connection.cursor().connection.server_version // 10000
    versioned = Path(f"/usr/lib/postgresql/{major}/bin/{name}")
    tool = str(versioned) if versioned.exists() else shutil.which(name)
    if tool is None:
        pytest.fail(f"{name} is not installed (Debian: postgresql-client-{major})")
    version = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True)
    found = re.search(r"\) (\d+)", version.stdout)
    if found is None or int(found.group(1)) != major:
        pytest.fail(f"{tool} is {version.stdout.strip()}, the server is PostgreSQL {major}")
    return tool


def _row_counts(cursor: psycopg2.extensions.cursor) -> dict[str, int]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    counts = {}
    for (table,) in cursor.fetchall():
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        counts[table] = _one(cursor)
    return counts


def _one(cursor: psycopg2.extensions.cursor) -> Any:
    row = cursor.fetchone()
    assert row is not None
    return row[0]


def _read_until(stream: IO[str], marker: str, seen: list[str]) -> bool:
    for line in stream:
        seen.append(line)
        if marker in line:
            return True
    return False


@pytest.fixture
def drill_databases() -> Iterator[tuple[str, str]]:
    """A source and a restore target of our own, beside the test database; dropped at the
    end whatever happened (FORCE: a failed test may leave the demo connected)."""
    base = connection.settings_dict["NAME"]
    names = (f"{base}_drill_source", f"{base}_drill_restored")
    admin = _admin()
    with admin.cursor() as cursor:
        for name in names:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(names[0])))
    try:
        yield names
    finally:
        with admin.cursor() as cursor:
            for name in names:
                cursor.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        admin.close()


def test_a_dump_taken_mid_demo_restores_complete_and_consistent(
    drill_databases: tuple[str, str], tmp_path: Path
) -> None:
    source, restored = drill_databases
    pg_dump, pg_restore = _postgres_tool("pg_dump"), _postgres_tool("pg_restore")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "omni.settings.base",
        "DATABASE_URL": _url(source),
        "REDIS_URL": "",  # the demo runs its jobs in-process, as on one machine
        "OMNI_VAR_DIR": str(tmp_path / "var"),
        "PYTHONUNBUFFERED": "1",
    }
    timings: dict[str, float] = {}
    started = time.monotonic()

    def lap(name: str) -> None:
        nonlocal started
        now = time.monotonic()
        timings[name] = now - started
        started = now

    migrated = manage(env, "migrate", "--noinput", timeout=300)
    assert migrated.returncode == 0, migrated.stderr
    lap("migrate the source")

    demo = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--busy-volume", "0"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    try:
        assert demo.stdout is not None
        reached = _read_until(demo.stdout, MID_DEMO, output)
        assert reached, "the demo ended before its hour of orders:\n" + "".join(output)[-3000:]
        lap("demo up to its hour of orders")

        # The backup: a snapshot held open while pg_dump reads it.
        held = psycopg2.connect(_url(source))
        try:
            held.set_session(isolation_level="REPEATABLE READ", readonly=True)
            with held.cursor() as cursor:
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = _one(cursor)
                snapshot_counts = _row_counts(cursor)
            assert demo.poll() is None, "the demo must still be writing while the dump is taken"
            lap("export the snapshot, count its rows")
            dump = tmp_path / "omni.dump"
            dumped = subprocess.run(
                [
                    pg_dump,
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    f"--file={dump}",
                    _url(source),
                ],
                capture_output=True,
                text=True,
            )
            assert dumped.returncode == 0, dumped.stderr
            lap("pg_dump --snapshot (custom format)")
        finally:
            held.rollback()
            held.close()

        with _admin().cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(restored)))
        restore = subprocess.run(
            [pg_restore, "--no-owner", "--exit-on-error", f"--dbname={_url(restored)}", str(dump)],
            capture_output=True,
            text=True,
        )
        assert restore.returncode == 0, restore.stderr
        lap("pg_restore into a fresh database")

        with contextlib.closing(psycopg2.connect(_url(restored))) as conn, conn.cursor() as cursor:
            restored_counts = _row_counts(cursor)
        assert restored_counts == snapshot_counts
        assert snapshot_counts["inventory_stockmove"] > 0
        assert snapshot_counts["orders_order"] > 0
        verified = manage({**env, "DATABASE_URL": _url(restored)}, "inventory_verify", timeout=300)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "OK" in verified.stdout
        lap("count and verify the restored database")

        rest, _ = demo.communicate(timeout=DEMO_TIMEOUT)
        output.append(rest)
        assert demo.returncode == 0, "".join(output)[-3000:]
        lap("the rest of the demo")
    finally:
        if demo.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(demo.pid, 9)
            demo.wait()

    verified = manage(env, "inventory_verify", timeout=300)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    with contextlib.closing(psycopg2.connect(_url(source))) as conn, conn.cursor() as cursor:
        final_counts = _row_counts(cursor)
    # The dump was of a moment mid-demo: the demo wrote on after it.
    assert final_counts["inventory_stockmove"] > snapshot_counts["inventory_stockmove"]
    assert final_counts["forecasting_forecastrun"] > snapshot_counts["forecasting_forecastrun"]
    lap("verify the source")

    print(
        f"\nrestore drill: {len(snapshot_counts)} tables, "
        f"{sum(snapshot_counts.values()):,} rows in the snapshot, "
        f"dump {dump.stat().st_size:,} bytes"
    )
    for name, seconds in timings.items():
        print(f"  {name:<40} {seconds:6.1f} s")
