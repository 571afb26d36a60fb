"""What every benchmark needs first: its own PostgreSQL database, created and migrated."""

from __future__ import annotations

from typing import Any

import dj_database_url
import psycopg2
from psycopg2 import sql


def ensure_database(url: str) -> dict[str, Any]:
    """Create the database named in ``url`` if it is missing; return its connection settings."""
    db = dj_database_url.parse(url)
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit(f"this benchmark needs PostgreSQL, DATABASE_URL is {url}")
    params: dict[str, Any] = {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
    }
    admin = psycopg2.connect(dbname="postgres", **params)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db["NAME"],))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
            print(f"created database {db['NAME']}")
    admin.close()
    return {**params, "dbname": db["NAME"]}


def setup_django() -> None:
    """Django set up against that database, migrated to the latest schema."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
