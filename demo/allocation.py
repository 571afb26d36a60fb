"""The demo's allocation step: solve the pilot city's run, approve it, dispatch and receive
its transfers, and say what it achieved (the lead wires it into ``make demo``)."""

from __future__ import annotations

from allocation import services
from inventory import services as stock
from omni.selectors import city_by_code


def allocation_demo_step(city_code: str) -> list[str]:
    city = city_by_code(city_code)
    run = services.allocation_run_create(city=city, parameters={"time_limit": 30.0})
    run = services.allocation_run_execute(run=run)
    lines = [
        f"allocation run {run.pk} for {city.code}: {run.status} ({run.method}), "
        f"need from {run.need_source}, gap {100 * (run.gap or 0):.2f}%"
    ]
    if not run.has_plan:
        return [*lines, f"  no plan to approve: {run.message}"]
    transfers = services.allocation_run_approve(run=run)
    units = 0
    for transfer in transfers:
        stock.transfer_dispatch(transfer=transfer)
        stock.transfer_receive(transfer=transfer)
        units += sum(line.quantity for line in transfer.lines.all())
    fill = "n/a" if run.total_fill_rate is None else f"{100 * run.total_fill_rate:.1f}%"
    lines.append(
        f"  approved: {len(transfers)} transfers, {units} units dispatched and received; "
        f"fill rate {fill}, transfer cost {run.transport_cost or 0:.2f}"
    )
    for store, rate in sorted(run.fill_rate.items()):
        shown = "no need" if rate is None else f"{100 * rate:.1f}%"
        lines.append(f"    {store}: fill rate {shown}")
    return lines
