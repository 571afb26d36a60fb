"""The planner pages: runs with their progress, a run's accuracy and its blend of models, the
SVG chart of a SKU at a store with the quantiles of its window totals; planners and admins
only."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from django.test import Client

from forecasting.demand_imports import demand_import
from forecasting.models import ForecastRun, ForecastSeries, RunStatus
from forecasting.services import forecast_run_execute, forecast_run_start
from tests.factories import ChannelUserFactory
from tests.helpers import client_for, text

PAGES = "/staff/forecasts/"
# Cheap candidates (the global model among them) keep a real run fast; 14 days give the
# series window totals of 7 and 14 days.
MODELS = ["seasonal_naive", "tsb", "lightgbm"]


@pytest.fixture
def run(write_csv, history_csv, products, city) -> ForecastRun:
    demand_import(path=write_csv(history_csv))
    started = forecast_run_start(city=city, horizon=14, models=MODELS, enqueue=False)
    return forecast_run_execute(run_id=started.pk)


def card(page: Any, card_id: str) -> str:
    """The HTML of the page's card with that id (up to the next card), or of its table."""
    html = text(page)
    start = html.rindex("<", 0, html.index(f'id="{card_id}"'))
    if html.startswith("<table", start):
        return html[start : html.index("</table>", start)]
    end = html.find('<div class="card"', start + 1)
    return html[start : end if end > 0 else len(html)]


def words(html: str) -> str:
    """What a reader sees of some HTML: the text, its whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", html)).strip()


def found(pattern: str, html: str) -> str:
    """The first match of ``pattern`` in ``html`` (its group 1 if it has one); it must be there."""
    match = re.search(pattern, html, re.DOTALL)
    assert match is not None, pattern
    return match.group(1) if match.re.groups else match.group(0)


def shares(weights: dict[str, float]) -> list[str]:
    """The weights as the page writes them, heaviest first."""
    ordered = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
    return [f"{name} {weight:.2f}" for name, weight in ordered if weight > 0]


def test_the_runs_page_lists_runs_and_starts_one(
    run, planner, city, django_capture_on_commit_callbacks
):
    client = client_for(planner)
    page = client.get(PAGES)
    assert page.status_code == 200
    text = page.content.decode()
    assert f"#{run.pk}" in text and "Succeeded" in text and "Start a run" in text
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(PAGES, {"city": city.code, "horizon": 7})
    new = ForecastRun.objects.exclude(pk=run.pk).get()
    assert started.status_code == 302 and started["Location"] == f"{PAGES}{new.pk}/"
    new.refresh_from_db()
    assert new.status == RunStatus.SUCCEEDED and new.created_by == planner


def test_a_second_start_while_one_runs_is_shown_not_raised(run, planner, city):
    forecast_run_start(city=city, horizon=7, enqueue=False)
    page = client_for(planner).post(PAGES, {"city": city.code, "horizon": 7})
    assert page.status_code == 409
    assert "forecast_run_in_progress" in page.content.decode()


def test_a_run_page_shows_accuracy_and_a_chart_of_a_sku_at_a_store(run, planner):
    page = client_for(planner).get(f"{PAGES}{run.pk}/", {"sku": "SKU-1", "location": "S01"})
    assert page.status_code == 200
    html = text(page)
    accuracy = words(card(page, "accuracy"))
    assert "Accuracy on the validation windows" in accuracy and "Blend RMSSE" in accuracy
    assert "Selection" not in accuracy and "seasonal_naive" in accuracy
    assert "<svg" in html and 'aria-label="SKU-1 at S01' in html
    assert "forecast" in html and "q50–q95" in html
    assert html.count("<tr>") > 14  # the per-day table under the chart


def test_the_run_page_shows_the_blend_it_chose(run, planner):
    summary = run.summary
    page = client_for(planner).get(f"{PAGES}{run.pk}/")
    blend = card(page, "blend")
    shown = words(blend)
    # The origins the weights were chosen on, as dates.
    assert summary["origins"] and all(day in shown for day in summary["origins"])
    # One row per segment: the run's blend first, then each demand class, in words.
    segments = re.findall(r'data-segment="([^"]+)"', blend)
    assert segments[0] == "*" and sorted(segments[1:]) == sorted(
        b["segment"] for b in summary["blends"] if b["segment"] != "*"
    )
    rows = re.split(r"<tr data-segment=", blend)[1:]
    first = words(rows[0])
    run_blend = next(b for b in summary["blends"] if b["segment"] == "*")
    assert "All series" in first
    assert all(share in first for share in shares(run_blend["weights"]))
    assert f"{run_blend['validation_rmsse']:.3f}" in first
    assert f"{run_blend['held_out_rmsse']:.3f}" in first  # the run's weights, held out
    assert "the run's" in first
    # Two series are too few for weights of their own: the class borrows the run's.
    smooth = words(rows[segments.index("smooth")])
    assert "smooth" in smooth and "not tried: fewer than 50 series" in smooth
    assert all(share in smooth for share in shares(run_blend["weights"]))
    assert "chosen on" in shown and "held out" in shown.lower()


def test_the_per_model_table_gives_each_model_its_weight_and_the_series_it_is_best_for(
    run, planner
):
    table = card(client_for(planner).get(f"{PAGES}{run.pk}/"), "per-model")
    head = words(table.split("</thead>")[0])
    assert head == "Model Series RMSSE MASE Bias Weight Best for"
    for model in run.summary["per_model"]:
        cells = words(found(rf'<tr data-model="{model["model"]}">(.*?)</tr>', table)).split()
        assert cells[0] == model["model"]
        assert cells[-2:] == [f"{model['weight']:.2f}", str(model["wins"])]
    assert sum(m["weight"] for m in run.summary["per_model"]) == pytest.approx(1.0, abs=1e-3)
    last = words(table.split('<tr class="total">')[-1])
    assert last.startswith("blend") and "1.00" in last


def test_a_demand_class_with_weights_of_its_own_shows_them_and_why(run, planner):
    """A class that beat the run's weights held out (here written into the summary, as a run
    of many series would) shows its own weights and both held-out scores."""
    summary = run.summary
    summary["blends"] = [b for b in summary["blends"] if b["segment"] == "*"] + [
        {
            "segment": "intermittent",
            "weights": {"tsb": 0.7, "lightgbm": 0.3},
            "series": 120,
            "validation_rmsse": 0.71,
            "held_out_rmsse": 0.74,
            "global_held_out_rmsse": 0.79,
            "own": True,
        },
        {
            "segment": "lumpy",
            "weights": {"seasonal_naive": 1.0},
            "series": 80,
            "validation_rmsse": 0.9,
            "held_out_rmsse": 0.95,
            "global_held_out_rmsse": 0.93,
            "own": False,
        },
    ]
    ForecastRun.objects.filter(pk=run.pk).update(summary=summary)
    blend = card(client_for(planner).get(f"{PAGES}{run.pk}/"), "blend")
    rows = dict(
        zip(
            re.findall(r'data-segment="([^"]+)"', blend),
            re.split(r"<tr data-segment=", blend)[1:],
            strict=True,
        )
    )
    assert list(rows) == ["*", "intermittent", "lumpy"]
    own = words(rows["intermittent"])
    assert "intermittent" in own and "tsb 0.70" in own and "lightgbm 0.30" in own
    assert "0.740" in own and "0.790" in own and "its own" in own
    assert '<td class="num better">0.740</td>' in rows["intermittent"]
    borrowed = words(rows["lumpy"])
    assert "0.950" in borrowed and "0.930" in borrowed
    assert "the run's" in borrowed and "its own scored no better" in borrowed
    assert '<td class="num better">0.930</td>' in rows["lumpy"]
    # A series of such a class is forecast with its class's weights, and its caption says so.
    ForecastSeries.objects.filter(run=run, product__sku="SKU-1", location__code="S01").update(
        segment="intermittent", weights={"tsb": 0.7, "lightgbm": 0.3}
    )
    page = client_for(planner).get(f"{PAGES}{run.pk}/", {"sku": "SKU-1", "location": "S01"})
    caption = words(found(r"<figcaption.*?</figcaption>", card(page, "chart")))
    assert "Blend weights of its demand class, intermittent: tsb 0.70 · lightgbm 0.30" in caption


def test_a_sku_at_a_store_shows_its_weights_and_window_totals_in_a_table_and_the_chart(
    run, planner
):
    series = ForecastSeries.objects.get(run=run, product__sku="SKU-1", location__code="S01")
    assert sorted(series.window, key=int) == ["7", "14"] and series.segment == "*"
    page = client_for(planner).get(f"{PAGES}{run.pk}/", {"sku": "SKU-1", "location": "S01"})
    chart = card(page, "chart")
    caption = words(found(r"<figcaption.*?</figcaption>", chart))
    assert "Blend weights of the run (its demand class has none of its own):" in caption
    assert all(share in caption for share in shares(series.weights))
    # The window totals, one row per window, each with its total and quantiles.
    table = card(page, "window-totals")
    assert words(table.split("</thead>")[0]) == "Days Forecast total q50 q80 q90 q95"
    for days in ("7", "14"):
        row = found(rf'<tr data-days="{days}">(.*?)</tr>', table)
        totals = series.window[days]
        expected = [days] + [f"{totals[k]:.1f}" for k in ("total", "q50", "q80", "q90", "q95")]
        assert words(row).split() == expected
    longest = series.window["14"]
    sentence = (
        f"Over the next 14 days: about {round(longest['q50'])} units; "
        f"95 % of the time at most {math.ceil(longest['q95'])}."
    )
    assert sentence in words(chart)
    # The chart's window panel: the summed forecast and an interval at each window's length.
    svg = found(r"<svg.*</svg>", chart)
    assert 'id="window-panel"' in svg and 'id="window-7"' in svg and 'id="window-14"' in svg
    assert "forecast, summed from the first day" in svg and "window total q50–q95" in svg
    alone = client_for(planner).get(
        f"{PAGES}{run.pk}/chart.svg", {"sku": "SKU-1", "location": "S01"}
    )
    assert b'id="window-panel"' in alone.content


def test_the_window_panel_speaks_the_staff_language(run, planner):
    page = client_for(planner).get(
        f"{PAGES}{run.pk}/",
        {"sku": "SKU-1", "location": "S01"},
        headers={"Accept-Language": "zh-hans"},
    )
    svg = found(r"<svg.*</svg>", card(page, "chart"))
    assert "预测，自首日起累计" in svg and "窗口总量 q50–q95" in svg
    assert "全部序列" in words(card(page, "blend")) and "窗口总量" in words(card(page, "chart"))


def test_a_series_without_window_totals_has_no_window_panel(run, planner):
    """Series stored before window totals: the daily chart and table alone."""
    ForecastSeries.objects.filter(run=run).update(window={}, weights={}, segment="")
    page = client_for(planner).get(f"{PAGES}{run.pk}/", {"sku": "SKU-1", "location": "S01"})
    assert page.status_code == 200
    chart = card(page, "chart")
    assert "<svg" in chart and 'id="window-panel"' not in chart
    assert "Window totals" not in chart and "Blend weights" not in chart


def test_a_run_made_before_blends_still_renders(run, planner):
    """An older summary: no origins, no blends, models without a weight."""
    summary = {
        k: v for k, v in run.summary.items() if k not in ("origins", "blends", "window_calibration")
    }
    summary["per_model"] = [
        {k: v for k, v in m.items() if k != "weight"} for m in summary["per_model"]
    ]
    ForecastRun.objects.filter(pk=run.pk).update(summary=summary)
    page = client_for(planner).get(f"{PAGES}{run.pk}/", {"sku": "SKU-1", "location": "S01"})
    assert page.status_code == 200
    html = text(page)
    assert 'id="blend"' not in html and "Validation origins" not in html
    accuracy = words(card(page, "accuracy"))
    assert "Selection RMSSE" in accuracy and "Chosen for" in accuracy
    assert "Weight" not in accuracy


def test_the_chart_is_an_svg_image(run, planner):
    chart = client_for(planner).get(
        f"{PAGES}{run.pk}/chart.svg", {"sku": "SKU-1", "location": "S02"}
    )
    assert chart.status_code == 200 and chart["Content-Type"] == "image/svg+xml"
    assert chart.content.startswith(b"<svg")
    missing = client_for(planner).get(
        f"{PAGES}{run.pk}/chart.svg", {"sku": "NOPE", "location": "S02"}
    )
    assert missing.status_code == 404


def test_the_progress_panel_polls_while_a_run_is_active(planner, city, db):
    queued = forecast_run_start(city=city, horizon=7, enqueue=False)
    panel = client_for(planner).get(f"{PAGES}{queued.pk}/progress/")
    assert 'hx-trigger="every 2s"' in panel.content.decode()
    ForecastRun.objects.filter(pk=queued.pk).update(status=RunStatus.CANCELLED)
    done = client_for(planner).get(f"{PAGES}{queued.pk}/progress/?active=1", HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"


def test_the_progress_panel_says_what_a_blending_run_is_doing_in_the_staff_language(
    planner, city, db
):
    running = forecast_run_start(city=city, horizon=7, enqueue=False)
    client = client_for(planner)
    for message, english, chinese in [
        (
            "validating 96 series (5 models)",
            "validating 96 series (5 models)",
            "正在验证 96 个序列",
        ),
        ("validated 40 of 96 series", "validated 40 of 96 series", "已验证 40 / 96 个序列"),
        ("fitting the global model on 96 series", "global model", "拟合全局模型"),
        ("choosing the blend", "choosing the blend", "正在选择模型组合"),
    ]:
        ForecastRun.objects.filter(pk=running.pk).update(message=message)
        assert english in text(client.get(f"{PAGES}{running.pk}/progress/"))
        zh = client.get(f"{PAGES}{running.pk}/progress/", headers={"Accept-Language": "zh-hans"})
        assert chinese in text(zh)


def test_others_get_a_403_and_strangers_the_login(run, store_user):
    assert client_for(store_user).get(PAGES).status_code == 403
    assert client_for(store_user).get(f"{PAGES}{run.pk}/chart.svg").status_code == 403
    channel = ChannelUserFactory.create(username="shop")
    assert client_for(channel).get(f"{PAGES}{run.pk}/").status_code == 403
    anonymous = Client().get(PAGES)
    assert anonymous.status_code == 302 and "/staff/login/" in anonymous["Location"]


def test_an_admin_may_cancel_and_rerun(run, admin_user):
    client = client_for(admin_user)
    again = client.post(f"{PAGES}{run.pk}/rerun/")
    new = ForecastRun.objects.exclude(pk=run.pk).get()
    assert again["Location"] == f"{PAGES}{new.pk}/"
    client.post(f"{PAGES}{new.pk}/cancel/")
    new.refresh_from_db()
    assert new.status == RunStatus.CANCELLED
