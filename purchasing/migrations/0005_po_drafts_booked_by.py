"""Counts opened against a purchase order before ``ReceivingDraft.booked_by`` existed are marked
as booked by their purchase order, so inventory's free-receipt finish refuses them too."""

from django.db import migrations


def mark_po_drafts(apps, schema_editor):
    ReceivingDraft = apps.get_model("inventory", "ReceivingDraft")
    PurchaseOrderDraft = apps.get_model("purchasing", "PurchaseOrderDraft")
    ids = PurchaseOrderDraft.objects.values("draft_id")
    ReceivingDraft.objects.filter(pk__in=ids).update(booked_by="purchase_order")


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0010_receiving_draft_booked_by"),
        ("purchasing", "0004_exchange_rates"),
    ]

    operations = [migrations.RunPython(mark_po_drafts, migrations.RunPython.noop)]
