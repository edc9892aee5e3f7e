"""Every page reads as plain language (#16, item 7): no Python or column names in snake_case, and
every large number in a table formatted with separators.

The pages are rendered in AppTest on the sample and on a Salesforce-style export (owners, types,
Annual Revenue, ZIPs that lost their zeros). What is scanned is what the user reads: titles,
captions, alerts, metric labels and values, widget labels, expander labels, and each table's
headers. A table column of numbers of 10,000 or more must carry a display format (st.dataframe
shows a bare float such as 6984295.840000003 otherwise).
"""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest

from territory.data.io import load_accounts
from tests.app.apptest import open_page, open_with_dataset
from tests.crm_files import salesforce_accounts

PAGES = ["pages/overview.py", "pages/data.py", "pages/territories.py", "pages/rebalance.py",
         "pages/scenarios.py", "pages/routing.py", "pages/review.py"]
# a word_with_underscores that is not a file name (salesforce_accounts.csv) or a Material icon
SNAKE = re.compile(r"(?<![\w./:-])[a-z][a-z0-9]*_[a-z0-9_]*[a-z0-9](?![\w.(])")
TEXT_KINDS = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "success", "error")
WIDGET_KINDS = ("selectbox", "radio", "button", "slider", "number_input", "text_input", "toggle",
                "multiselect", "checkbox", "select_slider", "segmented_control", "expander", "tab")


def snake_words(text: str) -> list[str]:
    return SNAKE.findall(str(text))


def test_the_scan_finds_snake_case_but_not_file_names_or_icons():
    assert snake_words("fix team sizes with industry_team_sizes") == ["industry_team_sizes"]
    assert snake_words("Set `TERRITORY_STUDIO_USER`, columns `account_id`") == ["account_id"]
    assert snake_words("Dataset: salesforce_accounts.csv :material/upload_file: Account ID") == []


def shown_text(at) -> list[tuple[str, str]]:
    """(where, text) for everything the page writes in words."""
    out: list[tuple[str, str]] = []
    for kind in TEXT_KINDS:
        out += [(kind, element.value) for element in getattr(at, kind)]
    out += [("metric", f"{m.label} {m.value}") for m in at.metric]
    for kind in WIDGET_KINDS:
        out += [(kind, element.label) for element in at.get(kind) if getattr(element, "label", None)]
    return out


def table_problems(at) -> list[str]:
    problems = []
    for frame in at.dataframe:
        config = json.loads(frame.proto.columns) if frame.proto.columns else {}
        value = frame.value
        for column in value.columns:
            spec = config.get(str(column), {})
            header = spec.get("label") or str(column)
            if spec.get("hidden"):
                continue
            problems += [f"header {header!r}" for _ in snake_words(header)]
            if not pd.api.types.is_numeric_dtype(value[column]) or pd.api.types.is_bool_dtype(value[column]):
                continue  # text (postal codes are text) or ticks
            numbers = pd.to_numeric(value[column], errors="coerce")
            large = numbers.abs().max() >= 10_000 if numbers.notna().any() else False
            if large and not spec.get("type_config", {}).get("format"):
                problems.append(f"column {header!r} shows numbers like {numbers.abs().max():.2f} unformatted")
    return problems


@pytest.fixture(scope="module")
def salesforce():
    from territory.ui import state

    frame = salesforce_accounts(1500)
    buffer = io.BytesIO()
    frame.to_csv(buffer, index=False)
    accounts = load_accounts(buffer.getvalue(), filename="Salesforce accounts.csv").accounts
    territories = state.territories_for(accounts, None)
    bookings = pd.DataFrame({c: pd.Series(dtype="string") for c in ("account_id", "quarter", "amount")})
    dataset = state.ActiveDataset("Salesforce accounts.csv", accounts, territories, bookings,
                                  state.frame_fingerprint(accounts, territories, bookings), "upload",
                                  default_capacity=tuple(territories["territory_id"].astype(str)))
    labels = accounts["territory_id"].astype("string")
    return dataset, state.Alignment(labels, state.CURRENT_ALIGNMENT_NAME, state.labels_fingerprint(labels), "09:00")


@pytest.mark.parametrize("page", PAGES)
def test_sample_pages_speak_plainly(page):
    at = open_page(page, timeout=120.0)
    words = [(where, word) for where, text in shown_text(at) for word in snake_words(text)]
    assert not words, words
    assert not table_problems(at), table_problems(at)


@pytest.mark.parametrize("page", PAGES)
def test_salesforce_pages_speak_plainly(salesforce, page):
    at = open_with_dataset(page, *salesforce, 120.0)
    words = [(where, word) for where, text in shown_text(at) for word in snake_words(text)]
    assert not words, words
    assert not table_problems(at), table_problems(at)
    everything = " ".join(text for _, text in shown_text(at))
    assert "no rep yet" not in everything and "None" not in re.sub(r"None of|none", "", everything)


def test_a_long_owner_name_is_shortened_under_max_deviation_and_given_whole_in_its_help(salesforce):
    from dataclasses import replace

    from territory.planning.account_types import counted_mask, default_counted_types
    from territory.planning.metrics import territory_table
    from territory.ui import state

    dataset, alignment = salesforce
    counted = counted_mask(dataset.accounts, default_counted_types(dataset.accounts))  # what the Overview counts
    table = territory_table(dataset.accounts[counted], alignment.labels[counted], territories=dataset.territories)
    worst = str(table.loc[table["deviation_pct"].abs().idxmax(), "territory_id"])
    long = "Alexandra Montgomery-Whitfield"  # the worst territory's owner, renamed

    def renamed(column: pd.Series) -> pd.Series:
        return column.replace({worst: long})

    accounts = dataset.accounts.assign(territory_id=renamed(dataset.accounts["territory_id"]))
    territories = dataset.territories.assign(territory_id=renamed(dataset.territories["territory_id"]))
    if "rep_name" in territories:
        territories["rep_name"] = renamed(territories["rep_name"])
    labels = renamed(alignment.labels)
    dataset = replace(dataset, accounts=accounts, territories=territories,
                      fingerprint=state.frame_fingerprint(accounts, territories, dataset.bookings))
    alignment = replace(alignment, labels=labels, fingerprint=state.labels_fingerprint(labels))
    at = open_with_dataset("pages/overview.py", dataset, alignment, 120.0)
    metric = next(m for m in at.metric if m.label == "Max deviation")
    assert metric.proto.delta.startswith("Alexandra Mon\u2026: ")
    assert long in metric.help
