"""The ledger refuses UPDATE and DELETE at the database level, and the virtual locations exist.

PostgreSQL: a trigger raises on UPDATE/DELETE of a stock move (TRUNCATE, used only by test
teardown, is a separate statement-level event and stays possible). SQLite: the same with
``RAISE(ABORT)``.
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION inventory_stockmove_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the stock ledger is append-only: % refused on stock move %', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER inventory_stockmove_append_only
    BEFORE UPDATE OR DELETE ON inventory_stockmove
    FOR EACH ROW EXECUTE FUNCTION inventory_stockmove_append_only();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS inventory_stockmove_append_only ON inventory_stockmove;
DROP FUNCTION IF EXISTS inventory_stockmove_append_only();
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER inventory_stockmove_no_update BEFORE UPDATE ON inventory_stockmove
       BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only: UPDATE refused'); END;""",
    """CREATE TRIGGER inventory_stockmove_no_delete BEFORE DELETE ON inventory_stockmove
       BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only: DELETE refused'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS inventory_stockmove_no_update;",
    "DROP TRIGGER IF EXISTS inventory_stockmove_no_delete;",
]

VIRTUAL = [
    ("VIRTUAL-SUPPLIER", "Supplier", "supplier"),
    ("VIRTUAL-CUSTOMER", "Customer", "customer"),
    ("VIRTUAL-ADJUSTMENT", "Adjustment", "adjustment"),
    ("VIRTUAL-TRANSIT", "In transit", "transit"),
    ("VIRTUAL-SCRAP", "Scrap", "scrap"),
]


def protect_ledger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # params=None: the function body's "%" is plpgsql's, not a query placeholder.
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def unprotect_ledger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


def create_virtual_locations(apps, schema_editor):
    Location = apps.get_model("inventory", "Location")
    for code, name, kind in VIRTUAL:
        Location.objects.get_or_create(code=code, defaults={"name": name, "kind": kind})


class Migration(migrations.Migration):
    dependencies = [("inventory", "0002_initial")]

    operations = [
        migrations.RunPython(protect_ledger, unprotect_ledger),
        migrations.RunPython(create_virtual_locations, migrations.RunPython.noop),
    ]
