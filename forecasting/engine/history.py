"""Demand history: the file format, its validation, and daily series.

A history file has the columns ``sku,location,date,quantity`` (any order, nothing else): one row
per SKU, location and day, ``date`` as ``YYYY-MM-DD``, ``quantity`` a number >= 0. A bad file is
refused whole, with one message per bad line (``history.csv:7: date: '2016-02-30' is not a
date``) so a planner can fix it in one pass.

Two more columns are optional: ``price`` (the unit price that day, a number >= 0) and ``promo``
(``1``/``0``, ``true``/``false``, ``yes``/``no``: was the item on promotion). Either may be empty
on a row. Where a history carries them, the global model learns from them (see
``global_model.py``).

A series runs daily from its first row to the history's last day (``as_of``); missing days are
zero. Leading zeros are dropped later by hygiene (a series starts at its first sale).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

COLUMNS = ("sku", "location", "date", "quantity")
OPTIONAL_COLUMNS = ("price", "promo")
PROMO_WORDS = {"1": 1.0, "0": 0.0, "true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0, "": np.nan}
# Messages past this many are counted, not listed: a wrong file usually repeats one mistake.
MAX_LISTED_ERRORS = 50

SeriesKey = tuple[str, str]  # (sku, location)


class HistoryError(ValueError):
    """A history file that cannot be used. ``errors`` has one ``file:line: message`` per
    problem found (at most ``MAX_LISTED_ERRORS``), ``error_count`` how many there were."""

    def __init__(self, errors: Sequence[str], *, error_count: int | None = None) -> None:
        self.errors = list(errors[:MAX_LISTED_ERRORS])
        self.error_count = error_count if error_count is not None else len(errors)
        more = self.error_count - len(self.errors)
        summary = self.errors[0] if self.errors else "invalid history"
        if self.error_count > 1:
            summary += f" (and {self.error_count - 1} more problem(s))"
        super().__init__(summary)
        self.more = more


@dataclass
class SeriesHistory:
    """One (SKU, location)'s daily demand: ``values[i]`` is the demand on ``start + i`` days."""

    sku: str
    location: str
    start: date
    values: np.ndarray
    # What the series belongs to above its SKU and location (department, category, region):
    # features of the global model.
    attributes: dict[str, str] = field(default_factory=dict)
    # Per day like ``values``, where the history has them (NaN: not known that day).
    price: np.ndarray | None = None
    promo: np.ndarray | None = None

    @property
    def key(self) -> SeriesKey:
        return (self.sku, self.location)

    @property
    def end(self) -> date:
        return self.start + timedelta(days=len(self.values) - 1)


@dataclass
class History:
    """Every series of a forecast, all ending on ``as_of`` (the last day with known demand)."""

    series: list[SeriesHistory]
    as_of: date
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.series)


@dataclass(frozen=True)
class HistoryRows:
    """Validated rows of a history file, as parallel arrays (``day`` as numpy datetime64[D])."""

    sku: np.ndarray
    location: np.ndarray
    day: np.ndarray
    quantity: np.ndarray
    line: np.ndarray  # the file line each row came from (1 is the header)
    price: np.ndarray | None = None  # NaN where a row has none
    promo: np.ndarray | None = None  # 1.0, 0.0 or NaN

    def __len__(self) -> int:
        return len(self.sku)


def read_history_rows(
    source: str | Path | IO[str] | IO[bytes],
    *,
    name: str | None = None,
    columns: Mapping[str, str] | None = None,
    ignore: Iterable[str] = (),
) -> HistoryRows:
    """Read and validate a history file (plain or ``.gz``). ``columns`` maps Omni's column
    names to the file's (``{"sku": "item_id", ...}``) and ``ignore`` lists extra columns the
    file may carry; any other column is an error. Raises ``HistoryError`` naming each bad line;
    returns nothing partial."""
    label = name or (str(source) if isinstance(source, str | Path) else "history")
    mapping = {
        omni: columns.get(omni, omni) if columns else omni for omni in (*COLUMNS, *OPTIONAL_COLUMNS)
    }
    try:
        frame = pd.read_csv(
            source,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skipinitialspace=True,
            compression="infer",
            on_bad_lines="error",
        )
    except pd.errors.EmptyDataError as exc:
        raise HistoryError([f"{label}:1: the file is empty (expected a header row)"]) from exc
    except pd.errors.ParserError as exc:
        raise HistoryError([f"{label}: {_parser_message(exc)}"]) from exc
    except UnicodeDecodeError as exc:
        raise HistoryError([f"{label}: not UTF-8 text ({exc.reason})"]) from exc
    except (OSError, EOFError) as exc:
        raise HistoryError([f"{label}: cannot read the file ({exc})"]) from exc

    header = [str(c).strip() for c in frame.columns]
    frame.columns = header
    wanted = set(mapping.values())
    allowed = wanted | set(ignore)  # the optional columns are in ``mapping`` too
    header_errors = [
        f"{label}:1: unknown column {col!r} (expected {', '.join(mapping[c] for c in COLUMNS)}"
        f"; optional {', '.join(mapping[c] for c in OPTIONAL_COLUMNS)})"
        for col in header
        if col not in allowed
    ]
    header_errors += [
        f"{label}:1: missing column {mapping[c]!r}" for c in COLUMNS if mapping[c] not in header
    ]
    if len(set(header)) != len(header):
        header_errors.append(f"{label}:1: a column name is repeated")
    if header_errors:
        raise HistoryError(header_errors)

    lines = np.arange(2, len(frame) + 2)
    sku = frame[mapping["sku"]].str.strip()
    location = frame[mapping["location"]].str.strip()
    raw_date = frame[mapping["date"]].str.strip()
    raw_quantity = frame[mapping["quantity"]].str.strip()
    day = pd.to_datetime(raw_date, format="%Y-%m-%d", errors="coerce")
    quantity = pd.to_numeric(raw_quantity, errors="coerce")

    problems: list[tuple[int, str]] = []

    def flag(mask: pd.Series, message: Any) -> None:
        for index in np.flatnonzero(mask.to_numpy()):
            problems.append((int(lines[index]), message(int(index))))

    flag(sku == "", lambda i: f"{mapping['sku']}: empty")
    flag(location == "", lambda i: f"{mapping['location']}: empty")
    flag(
        day.isna(),
        lambda i: f"{mapping['date']}: {raw_date.iloc[i]!r} is not a date (YYYY-MM-DD)",
    )
    bad_number = quantity.isna() | ~np.isfinite(quantity.fillna(0))
    flag(
        bad_number,
        lambda i: f"{mapping['quantity']}: {raw_quantity.iloc[i]!r} is not a number",
    )
    flag(
        ~bad_number & (quantity < 0),
        lambda i: f"{mapping['quantity']}: {raw_quantity.iloc[i]} is negative",
    )
    keys = pd.DataFrame({"s": sku, "l": location, "d": raw_date})
    keys = keys.assign(d=day.dt.strftime("%Y-%m-%d").where(day.notna(), raw_date))
    duplicated = keys.duplicated(keep=False).to_numpy() & day.notna().to_numpy()
    if duplicated.any():
        first_line: dict[tuple[str, str, str], int] = {}
        for index in np.flatnonzero(duplicated):
            key = (keys.iat[index, 0], keys.iat[index, 1], keys.iat[index, 2])
            if key in first_line:
                problems.append(
                    (
                        int(lines[index]),
                        f"duplicate row: {key[0]} at {key[1]} on {key[2]} "
                        f"is already on line {first_line[key]}",
                    )
                )
            else:
                first_line[key] = int(lines[index])
    price = promo = None
    if mapping["price"] in header:
        raw_price = frame[mapping["price"]].str.strip()
        price = pd.to_numeric(raw_price.replace("", np.nan), errors="coerce")
        bad_price = price.isna() & (raw_price != "") | ~np.isfinite(price.fillna(0))
        flag(bad_price, lambda i: f"{mapping['price']}: {raw_price.iloc[i]!r} is not a number")
        flag(
            ~bad_price & (price < 0),
            lambda i: f"{mapping['price']}: {raw_price.iloc[i]} is negative",
        )
    if mapping["promo"] in header:
        raw_promo = frame[mapping["promo"]].str.strip()
        promo = raw_promo.str.lower().map(PROMO_WORDS)
        flag(
            promo.isna() & (raw_promo != ""),
            lambda i: f"{mapping['promo']}: {raw_promo.iloc[i]!r} is not 1/0, true/false or yes/no",
        )
    if problems:
        problems.sort()
        raise HistoryError(
            [f"{label}:{line}: {message}" for line, message in problems[:MAX_LISTED_ERRORS]],
            error_count=len(problems),
        )
    return HistoryRows(
        sku=sku.to_numpy(dtype=object),
        location=location.to_numpy(dtype=object),
        day=day.to_numpy(dtype="datetime64[D]"),
        quantity=quantity.to_numpy(dtype=float),
        line=lines,
        price=None if price is None else price.to_numpy(dtype=float),
        promo=None if promo is None else promo.to_numpy(dtype=float),
    )


def _parser_message(exc: Exception) -> str:
    # pandas says "Error tokenizing data. C error: Expected 4 fields in line 7, saw 5".
    text = str(exc).strip()
    marker = "C error: "
    return text.split(marker, 1)[1] if marker in text else text


def history_from_rows(
    rows: HistoryRows | Iterable[tuple[str, str, date, float]],
    *,
    as_of: date | None = None,
) -> History:
    """Daily series from rows: each from its first row to ``as_of`` (default: the last day in
    the rows), missing days zero. Rows after ``as_of`` are left out (and counted in ``notes``)."""
    if not isinstance(rows, HistoryRows):
        listed = list(rows)
        rows = HistoryRows(
            sku=np.array([r[0] for r in listed], dtype=object),
            location=np.array([r[1] for r in listed], dtype=object),
            day=np.array([np.datetime64(r[2], "D") for r in listed], dtype="datetime64[D]"),
            quantity=np.array([float(r[3]) for r in listed], dtype=float),
            line=np.arange(2, len(listed) + 2),
        )
    if len(rows) == 0:
        return History(series=[], as_of=as_of or date.today())
    last = rows.day.max()
    end = np.datetime64(as_of, "D") if as_of is not None else last
    notes: list[str] = []
    keep = rows.day <= end
    if not keep.all():
        notes.append(f"{int((~keep).sum())} row(s) after {end} left out")
    frame = pd.DataFrame(
        {
            "sku": rows.sku[keep],
            "location": rows.location[keep],
            "day": rows.day[keep].astype("int64"),
            "quantity": rows.quantity[keep],
        }
    )
    extras = [name for name in ("price", "promo") if getattr(rows, name) is not None]
    for name in extras:
        frame[name] = getattr(rows, name)[keep]
    series: list[SeriesHistory] = []
    end_ordinal = int(end.astype("int64"))
    if len(frame):
        frame = frame.sort_values(["sku", "location", "day"], kind="stable")
        days = frame["day"].to_numpy()
        quantities = frame["quantity"].to_numpy()
        skus = frame["sku"].to_numpy()
        locations = frame["location"].to_numpy()
        boundaries = np.flatnonzero((skus[1:] != skus[:-1]) | (locations[1:] != locations[:-1])) + 1
        starts = np.concatenate(([0], boundaries))
        stops = np.concatenate((boundaries, [len(frame)]))
        known = {name: frame[name].to_numpy(dtype=float) for name in extras}
        for lo, hi in zip(starts, stops, strict=True):
            first = int(days[lo])
            values = np.zeros(end_ordinal - first + 1, dtype=float)
            np.add.at(values, days[lo:hi] - first, quantities[lo:hi])
            daily = {}
            for name, column in known.items():
                daily[name] = np.full(values.size, np.nan)
                daily[name][days[lo:hi] - first] = column[lo:hi]
            series.append(
                SeriesHistory(
                    sku=str(skus[lo]),
                    location=str(locations[lo]),
                    start=_ordinal_to_date(first),
                    values=values,
                    price=daily.get("price"),
                    promo=daily.get("promo"),
                )
            )
    return History(series=series, as_of=_ordinal_to_date(end_ordinal), notes=notes)


EPOCH = date(1970, 1, 1)


def _ordinal_to_date(days_since_epoch: int) -> date:
    return EPOCH + timedelta(days=int(days_since_epoch))


def read_history(
    source: str | Path | IO[str] | IO[bytes],
    *,
    name: str | None = None,
    as_of: date | None = None,
) -> History:
    """The file interface's reader: validate ``sku,location,date,quantity`` and build series."""
    return history_from_rows(read_history_rows(source, name=name), as_of=as_of)


def history_from_text(text: str, *, as_of: date | None = None) -> History:
    """A history from CSV text (tests, small tools)."""
    return read_history(io.StringIO(text), name="history", as_of=as_of)
