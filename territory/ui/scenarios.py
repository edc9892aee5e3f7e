"""Streamlit pieces for scenarios: the store handle, the save form, downloads and comparison charts.

The Scenarios page and the Rebalance page both save through :func:`save_form`, so a scenario
saved from either place looks the same in the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from territory.data import schema
from territory.data.spreadsheet import to_csv_bytes, to_xlsx_bytes
from territory.errors import TerritoryError
from territory.planning.basis import Basis
from territory.planning.metrics import territory_table
from territory.planning.review import build_review
from territory.planning.scenarios import (
    Scenario,
    ScenarioExistsError,
    ScenarioStore,
    aligned_assignment,
    apply_to_dataset,
    build_scenario,
    compare_scenarios,
    default_db_path,
    params_to_dict,
    rules_note,
    scenario_to_bytes,
)
from territory.planning.units import saved_units
from territory.reporting.colors import territory_colors
from territory.reporting.export import assignment_table
from territory.reporting.report import ReportInput, build_report
from territory.reporting.text import chart_escape, chart_labels, md_escape
from territory.ui import cached, keys, state
from territory.ui.cached import labels_fingerprint
from territory.ui.components import widgets

FLASH_KEY = keys.SCENARIO_FLASH


@st.cache_resource(show_spinner=False)
def _store_at(path: str) -> ScenarioStore:
    return ScenarioStore(path)


def get_store() -> ScenarioStore:
    """The scenario store at ``$TERRITORY_STUDIO_DB`` (or the user data directory), opened once."""
    return _store_at(str(default_db_path()))


def flash(message: str) -> None:
    """Show ``message`` (Markdown: escape names in it with ``md_escape``) as a success message after
    the next rerun (st.rerun drops messages)."""
    st.session_state[FLASH_KEY] = message


def show_flash() -> None:
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        st.success(message)


def save_form(
    accounts: pd.DataFrame,
    labels: pd.Series,
    *,
    key: str,
    result: Any = None,
    default_name: str = "",
    metrics: dict | None = None,
    extra_params: Mapping[str, Any] | None = None,
) -> str | None:
    """A small form that saves ``labels`` as a named scenario; returns the saved name, if any.

    ``extra_params`` are saved with the engine's parameters (settings outside them, such as the units).

    A taken name is not overwritten silently: the form asks to tick "overwrite" or pick another name.
    """
    with st.form(key=keys.child(key, "form"), clear_on_submit=False):
        st.text_input("Scenario name", value=default_name, max_chars=80, key=keys.child(key, "name"),
                      placeholder="e.g. Q3 2026 - 22 reps, workload +/-5%")
        st.text_area("Notes (optional)", key=keys.child(key, "notes"), height=68)
        st.checkbox("Overwrite a scenario with the same name", key=keys.child(key, "overwrite"))
        st.form_submit_button("Save scenario", icon=":material/save:", type="primary", on_click=_save_submitted,
                              args=(key, accounts, labels, result, metrics, extra_params))
    outcome = st.session_state.pop(keys.child(key, "outcome"), None)
    if outcome is None:
        return None
    kind, message, saved_name = outcome
    {"success": st.success, "warning": st.warning, "error": st.error}[kind](message)
    return saved_name


def _save_submitted(key: str, accounts: pd.DataFrame, labels: pd.Series, result: Any, metrics: dict | None,
                    extra_params: Mapping[str, Any] | None) -> None:
    """The save form's callback: save, leave the outcome for the form to show, and after a save start
    the form blank (run before the page, so it may reset the form's fields; a saved note went with
    the next scenario too)."""
    ss = st.session_state
    name, notes = ss.get(keys.child(key, "name"), ""), ss.get(keys.child(key, "notes"), "")
    reasons = None
    params: dict[str, Any] = {}
    if result is not None:
        reasons = result.assignment.get("reason")
        params = params_to_dict(getattr(result, "params", None))
    params |= dict(extra_params or {})
    try:
        scenario = build_scenario(name, accounts, labels, reasons=reasons, params=params,
                                  metrics=metrics or {}, notes=notes)
        saved = get_store().save(scenario, overwrite=bool(ss.get(keys.child(key, "overwrite"), False)))
    except ScenarioExistsError as error:
        ss[keys.child(key, "outcome")] = ("warning", f"{md_escape(error)} Tick **Overwrite** to replace it.", None)
        return
    except TerritoryError as error:
        ss[keys.child(key, "outcome")] = ("error", md_escape(error), None)
        return
    ss[keys.child(key, "outcome")] = (
        "success", f"Saved scenario **{md_escape(saved.name)}** ({saved.accounts:,} accounts, "
                   f"{saved.territories} territories{rules_note(scenario, saved)}).", saved.name)
    # the notes and the overwrite tick back to blank: set, not popped (a popped key kept the browser's
    # text, so the first scenario's note went with the next one; AppTest did not show it). The name is
    # popped back to its default (setting it would clash with its value=); should the browser keep it,
    # saving it again is refused by name.
    ss.pop(keys.child(key, "name"), None)
    ss[keys.child(key, "notes")] = ""
    ss[keys.child(key, "overwrite")] = False


COMPARE_SETTING = "scenarios_compare"  # Settings.extra: the Compare tab's picks, kept for a refresh


def restore_compare_picks(options: list[str], default: list[str]) -> None:
    """Give the Compare tab's picker its last picks (kept in the settings, so they outlive another tab,
    another page and a refresh; a scenario deleted since is dropped), or ``default`` the first time."""
    if keys.SCN_COMPARE not in st.session_state:
        kept = state.get_settings().extra.get(COMPARE_SETTING)
        picks = [name for name in kept if name in options] if isinstance(kept, list) else default
        st.session_state[keys.SCN_COMPARE] = picks


def keep_compare_picks() -> None:
    """Callback of the Compare tab's picker: keep its picks in the settings (saved for a refresh)."""
    state.update_settings(**{COMPARE_SETTING: list(st.session_state.get(keys.SCN_COMPARE, []))})


def scenario_units(scenario: Scenario) -> str:
    """What the scenario's alignment keeps whole (:func:`territory.planning.units.saved_units`)."""
    return saved_units(scenario.params)


def scenario_labels(scenario: Scenario, accounts: pd.DataFrame) -> tuple[pd.Series, str]:
    """Territory per account of the active dataset under ``scenario`` and a sentence on mismatches."""
    labels, diff = apply_to_dataset(scenario, accounts)
    return labels, ("" if diff.matches else diff.describe())


def deviation_strip(deviations: dict[str, pd.DataFrame], tolerance: float) -> go.Figure:
    """Each scenario's territories as dots of deviation from target (%), with the tolerance band."""
    figure = go.Figure()
    all_ids: list[str] = []
    for table in deviations.values():
        all_ids += table[schema.TERRITORY_ID].astype(str).tolist()
    colors = territory_colors(all_ids)
    names = list(deviations)
    for position, (name, table) in enumerate(deviations.items()):
        count = len(table)
        # Spread the dots a little sideways (deterministically) so territories do not hide each other.
        offsets = ((np.arange(count) % 7) - 3) * 0.05
        figure.add_trace(
            go.Scatter(
                x=position + offsets, y=table["deviation_pct"], mode="markers", name=chart_escape(name),
                marker=dict(size=9, color=[colors.get(str(t), "#1f77b4") for t in table[schema.TERRITORY_ID]],
                            line=dict(width=0.5, color="#333333")),
                text=chart_labels(table[schema.TERRITORY_ID].astype(str)),
                hovertemplate="%{text}: %{y:+.1f}% of target<extra>" + chart_escape(name) + "</extra>",
                showlegend=False,
            )
        )
    figure.update_xaxes(tickvals=list(range(len(names))), ticktext=chart_labels(names),
                        range=[-0.6, len(names) - 0.4])
    # the band is named in the page's caption: a label inside it sat on the dots
    figure.add_hrect(y0=-tolerance * 100, y1=tolerance * 100, line_width=0, fillcolor="rgba(44,160,44,0.15)")
    figure.add_hline(y=0, line_color="#2ca02c", line_width=1)
    figure.update_layout(height=380, margin=dict(l=60, r=20, t=30, b=40), plot_bgcolor="white",
                         yaxis_title="Deviation from target per territory (%)", xaxis_title="Scenario")
    figure.update_yaxes(gridcolor="#eeeeee", zeroline=False)
    return figure


BEST_STYLE = "background-color: #d8f0d8; font-weight: 600"


def style_best(table: pd.DataFrame) -> Any:
    """The comparison table with each row's best (lowest) value in bold on green, as the "Best" column of
    :func:`compare_scenarios` names them (none when all are equal). The column itself is left out: long
    scenario names were cut in it at 1500 px, and the marked cells already say it."""
    numeric = [c for c in table.columns if c != "Best"]

    def highlight(row: pd.Series) -> list[str]:
        values = pd.to_numeric(row, errors="coerce")
        finite = values.dropna()
        winners = finite.index[np.isclose(finite.to_numpy(), finite.min())] if len(finite) else []
        if len(winners) == len(row):
            return [""] * len(row)
        return [BEST_STYLE if c in set(winners) else "" for c in row.index]

    def number(value: float) -> str:
        if pd.isna(value):
            return "n/a"
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"

    return table[numeric].style.apply(highlight, axis=1).format(number)


def workbook_bytes(accounts: pd.DataFrame, labels: pd.Series, scenario: Scenario,
                   territories: pd.DataFrame | None, basis: Basis) -> bytes:
    """The scenario's XLSX: its assignment (every account) and the per-territory summary
    (``metrics.territory_table``) of the accounts its ``basis`` counts."""
    mask = basis.mask(accounts)
    return to_xlsx_bytes({
        "Assignment": assignment_table(accounts, aligned_assignment(scenario, accounts), territories),
        "Territories": territory_table(accounts[mask], labels[mask], territories=territories,
                                       balance_on=basis.measure),
    })


def downloads_ui(dataset: Any, labels: pd.Series, scenario: Scenario, *, basis: Basis) -> None:
    """Download buttons for one scenario; files are built only when clicked (deferred data). The
    figures count what ``basis`` counts; the assignment lists every account."""
    accounts, territories = dataset.accounts, state.export_territories(dataset)
    mask = basis.mask(accounts)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in scenario.name)

    def table() -> pd.DataFrame:
        return assignment_table(accounts, aligned_assignment(scenario, accounts), territories)

    def workbook() -> bytes:
        return workbook_bytes(accounts, labels, scenario, territories, basis)

    def report() -> bytes:
        assignment = aligned_assignment(scenario, accounts)
        bookings = dataset.bookings
        review = (build_review(accounts, labels, bookings, territories, alignment_name=scenario.name,
                               quotas=dataset.quotas, counted=mask) if bookings is not None and len(bookings) else None)
        return build_report(
            ReportInput(
                accounts=accounts[mask], labels_after=labels[mask], labels_before=state.file_labels(dataset)[mask],
                territories=territories, title="Territory review", scenario_name=scenario.name,
                dataset_name=dataset.name, balance_on=basis.measure, tolerance=basis.tolerance,
                params=scenario.params, reasons=assignment["reason"][mask], boundaries=cached.us_states_geojson(),
                review=review, messages=basis.notes(accounts),
            )
        ).encode("utf-8")

    first, second = st.columns(2), st.columns(2)
    first[0].download_button("Assignment (CSV)", lambda: to_csv_bytes(table()), f"{safe}_assignment.csv",
                             "text/csv", key=keys.SCN_DL_CSV, on_click="ignore", icon=":material/table:",
                             width="stretch")
    first[1].download_button("Assignment + territories (XLSX)", workbook, f"{safe}.xlsx",
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                             key=keys.SCN_DL_XLSX, on_click="ignore", icon=":material/grid_on:", width="stretch")
    second[0].download_button("Scenario file (ZIP)", lambda: scenario_to_bytes(scenario),
                              f"{safe}.scenario.zip", "application/zip", key=keys.SCN_DL_ZIP, on_click="ignore",
                              icon=":material/folder_zip:", width="stretch",
                              help="Parameters, assignment and metrics in one file; import it on another machine.")
    second[1].download_button("Review report (HTML)", report, f"{safe}_review.html", "text/html",
                              key=keys.SCN_DL_REPORT, on_click="ignore", icon=":material/description:",
                              width="stretch", help="One self-contained page for the review deck; opens offline.")
    widgets.geography_downloads(accounts, labels, territories, file_stem=safe, key=keys.SCN_DL_GEOGRAPHY,
                                shapes_key=f"{dataset.fingerprint}|{cached.labels_fingerprint(labels)}",
                                units=scenario_units(scenario),
                                instead="Every account's territory is in *Assignment (CSV)* and *Assignment + "
                                        "territories (XLSX)* above.")


@st.cache_data(show_spinner=False, max_entries=16)
def _comparison(dataset_key: str, label_keys: tuple, basis_key: tuple, _accounts, _labels, _territories, _bases):  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return compare_scenarios(_accounts, _labels, _territories, bases=_bases)


def cached_comparison(dataset: Any, labels_by_name: dict[str, pd.Series], bases: dict[str, Basis]) -> pd.DataFrame:
    """``compare_scenarios``, each alignment on its own basis, cached by the dataset's and each alignment's
    fingerprint."""
    keys = tuple((name, labels_fingerprint(labels)) for name, labels in labels_by_name.items())
    basis_key = tuple(sorted((name, repr(basis)) for name, basis in bases.items()))
    return _comparison(dataset.fingerprint, keys, basis_key, dataset.accounts, labels_by_name, dataset.territories,
                       bases)


def bases_note(accounts: pd.DataFrame, bases: Mapping[str, Basis]) -> str:
    """A caption under a comparison: the basis all share, or each one's when they differ."""
    texts = {name: basis.describe(accounts) for name, basis in bases.items()}  # the same words: the same basis
    if len(set(texts.values())) == 1:
        return f"Each scored as it was balanced. {next(iter(texts.values()))}"
    return "Each scored as it was balanced, so figures on different bases are not like for like: " + " ".join(
        f"{name}: {text}" for name, text in texts.items())


IN_USE_OPTION = "(alignment in use)"


def picked_alignments(picked: list[str], alignment: Any, dataset: Any,
                      store: ScenarioStore) -> tuple[dict[str, pd.Series], dict[str, Basis]]:
    """The labels and the basis of each alignment picked for comparison, by the name it is shown under:
    the alignment in use on its session basis, a saved scenario on the basis it was balanced with."""
    labels_by_name: dict[str, pd.Series] = {}
    bases: dict[str, Basis] = {}
    for name in picked:
        if name == IN_USE_OPTION:
            shown_name = f"In use: {alignment.name}"
            labels_by_name[shown_name] = alignment.labels
            bases[shown_name] = state.basis_of(alignment, dataset)
        else:
            saved = store.load(name)
            labels_by_name[name] = scenario_labels(saved, dataset.accounts)[0]
            bases[name] = state.scenario_basis(saved.params, dataset)
    return labels_by_name, bases


def balance_per_territory(dataset: Any, labels_by_name: Mapping[str, pd.Series],
                          bases: Mapping[str, Basis]) -> dict[str, pd.DataFrame]:
    """Each alignment's territory table (load against target) over the accounts its basis counts."""
    tables = {}
    for name, labels in labels_by_name.items():
        basis = bases[name]
        counted = basis.mask(dataset.accounts)
        tables[name] = cached.territory_table(f"{dataset.fingerprint}|{basis!r}", dataset.accounts[counted],
                                              labels[counted], dataset.territories, basis.measure)
    return tables


def shared_band(bases: Mapping[str, Basis], default: float) -> float:
    """The tolerance band to draw: the one all the alignments were balanced with, else ``default``."""
    bands = {basis.tolerance for basis in bases.values()}
    return bands.pop() if len(bands) == 1 else default
