"""Scenarios: save, open, compare, share and export what-if alignments."""

import streamlit as st

from territory.errors import TerritoryError
from territory.planning.metrics import MEAN_DISTANCE_HELP
from territory.planning.scenarios import (
    apply_to_dataset,
    dataset_fingerprint,
    differing_accounts,
    rules_note,
    scenario_from_bytes,
)
from territory.reporting.text import md_escape
from territory.ui import cached, clock, keys, state
from territory.ui import scenarios as ui
from territory.ui.components import maps, widgets

state.init_state()
widgets.page_header("Scenarios", "Named what-if alignments: keep them, compare them, hand one to sales ops.")
dataset = state.require_dataset()
alignment = state.get_alignment()
settings = state.get_settings()
store = ui.get_store()
ui.show_flash()
st.caption(
    "Scenarios are stored on this computer: they survive restarts and can be shared as files (Import / export tab).",
    help=f"The scenario database: {store.path}. Your IT team can move it (the documentation's app page says how).",
)

with st.expander(f"Save the alignment in use ({md_escape(alignment.name)}) as a scenario", expanded=False):
    ui.save_form(dataset.accounts, alignment.labels, key=keys.SCN_SAVE, result=alignment.result,
                 extra_params=state.basis_of(alignment, dataset).params(),
                 default_name="" if alignment.name == state.CURRENT_ALIGNMENT_NAME else alignment.name)

listing = store.list()
if listing.empty:
    widgets.empty_state(
        "No scenarios saved yet. Rebalance on the **Rebalance** page and save the result, save the "
        "alignment in use above, or import a scenario file below.",
        page="pages/rebalance.py",
        label="Go to Rebalance",
    )

names = listing["name"].tolist()
# Lazy tabs: only the open tab runs and travels to the browser (Compare draws up to three maps).
open_tab, compare_tab, share_tab, history_tab = st.tabs(
    ["Open", "Compare", "Import / export", "History"], key=keys.SCN_TAB, on_change="rerun"
)

if open_tab.open:
    with open_tab:
        if names:
            shown = listing.assign(
                same_dataset=listing["dataset_fingerprint"] == dataset_fingerprint(dataset.accounts),
                created_at=clock.local_times(listing["created_at"]),
                updated_at=clock.local_times(listing["updated_at"]),
            ).drop(columns="dataset_fingerprint")
            st.dataframe(
                shown,
                hide_index=True,
                width="stretch",
                column_config={
                    "name": "Scenario",
                    "notes": "Notes",
                    "created_at": st.column_config.DatetimeColumn(f"Created{clock.zone_suffix()}",
                                                                  format="D MMM YYYY, HH:mm"),
                    "updated_at": st.column_config.DatetimeColumn(f"Updated{clock.zone_suffix()}",
                                                                  format="D MMM YYYY, HH:mm"),
                    "accounts": st.column_config.NumberColumn("Accounts", format="localized"),
                    "territories": st.column_config.NumberColumn("Territories", format="%d"),
                    "same_dataset": st.column_config.CheckboxColumn(
                        "Same accounts", help="Made from exactly the accounts of the active dataset."
                    ),
                },
            )
            chosen = st.selectbox("Open scenario", names, key=keys.SCN_OPEN)
            scenario = store.load(chosen)
            labels, fit = apply_to_dataset(scenario, dataset.accounts)
            elsewhere = fit.shares_nothing  # made on another file: none of its accounts is in this one
            if elsewhere:  # nothing of it applies here, so no figures, activation or downloads
                st.info(f"**{md_escape(scenario.name)}** was made on another file: none of its "
                        f"{scenario.accounts:,} accounts is in the active dataset ({md_escape(dataset.name)}). "
                        "Open the file it was made on (Data page) to score, use or download it.")
            elif not fit.matches:
                st.warning(md_escape(fit.describe()))
            if scenario.notes:
                st.caption(f"Notes: {md_escape(scenario.notes)}")
            if scenario.rules is not None:
                st.caption(f"{len(scenario.rules):,} routing rules are saved with it: the Routing page starts "
                           "from them when it is the alignment in use, and they travel in its scenario file.")
            basis = state.scenario_basis(scenario.params, dataset)
            if not elsewhere:
                counted = basis.mask(dataset.accounts)
                score = cached.scorecard(f"{dataset.fingerprint}|{basis!r}", dataset.accounts[counted], labels[counted],
                                         state.file_labels(dataset)[counted], dataset.territories, basis.measure)
                cols = st.columns(5)
                cols[0].metric("Territories", f"{score['territories']:,}")
                cols[1].metric("Max deviation", widgets.format_pct(score.get("max_deviation_pct")),
                               help=f"On {basis.measure_text()}, against each territory's target; the band is "
                                    f"±{basis.tolerance:.0%}.")
                cols[2].metric("Mean distance", widgets.format_km(score.get("weighted_mean_distance_km")),
                               help=MEAN_DISTANCE_HELP)
                cols[3].metric("Accounts moved", f"{score.get('moved_accounts', 0):,}",
                               help="Compared with the alignment in the dataset file.")
                cols[4].metric("Revenue moved", widgets.format_pct(score.get("moved_revenue_pct")))
                st.caption(f"Scored as it was balanced. {md_escape(basis.describe(dataset.accounts))}")

            act, rename_col, delete_col = st.columns(3, vertical_alignment="bottom")
            if act.button("Set as active alignment", icon=":material/check_circle:", key=keys.SCN_ACTIVATE,
                          type="primary", disabled=elsewhere):
                state.set_active_alignment(labels, name=f"Scenario: {scenario.name}", scenario=scenario.name,
                                           units=ui.scenario_units(scenario), basis=basis)
                store.record_activation(scenario.name)
                ui.flash(f"**{md_escape(scenario.name)}** is now the alignment in use on every page.")
                st.rerun()
            new_name = rename_col.text_input("New name", key=keys.SCN_RENAME_TO, placeholder="Rename to...")
            if rename_col.button("Rename", key=keys.SCN_RENAME):
                try:
                    store.rename(scenario.name, new_name)
                except TerritoryError as error:
                    st.error(md_escape(error))
                else:
                    ui.flash(f"Renamed **{md_escape(scenario.name)}** to **{md_escape(new_name)}**.")
                    st.rerun()
            confirm = delete_col.checkbox("Yes, delete it", key=keys.SCN_DELETE_CONFIRM)
            if delete_col.button("Delete", key=keys.SCN_DELETE, disabled=not confirm, icon=":material/delete:"):
                store.delete(scenario.name)
                ui.flash(f"Deleted **{md_escape(scenario.name)}**.")
                st.rerun()

            if not elsewhere:
                st.markdown("**Downloads**")
                ui.downloads_ui(dataset, labels, scenario, basis=basis)
        else:
            st.caption("Nothing to open yet: saved scenarios are listed here, with their figures, "
                       "downloads and *Set as active alignment*.")

if compare_tab.open:
    with compare_tab:
        options = [ui.IN_USE_OPTION] + names
        ui.restore_compare_picks(options, default=options[: min(3, len(options))])
        picked = st.multiselect("Scenarios to compare", options, key=keys.SCN_COMPARE, max_selections=6,
                                on_change=ui.keep_compare_picks,
                                help="Each is scored on the active dataset, against the alignment in the file.")
        if len(picked) < 2:
            st.info("Pick two or more to compare them side by side.")
        else:
            labels_by_name, bases = ui.picked_alignments(picked, alignment, dataset, store)
            comparison = ui.cached_comparison(dataset, labels_by_name, bases)
            st.markdown("**Scorecard** (lower is better on every row; the best is highlighted)")
            st.dataframe(ui.style_best(comparison), width="stretch", height=35 * (len(comparison) + 1) + 3)
            st.caption(md_escape(ui.bases_note(dataset.accounts, bases)))
            deviations = ui.balance_per_territory(dataset, labels_by_name, bases)
            band = ui.shared_band(bases, settings.tolerance)
            st.markdown("**Balance per territory**")
            st.plotly_chart(ui.deviation_strip(deviations, band), width="stretch", key=keys.SCN_STRIP)
            st.caption(f"One dot per territory (hover for its name), by how far its load sits from its target; "
                       f"the green band is the tolerance, ±{band:.0%}.")
            st.markdown("**Maps**")
            shown_maps = list(labels_by_name.items())[:3]
            map_cols = st.columns([1] * len(shown_maps) + [0.6])  # the last column holds the shared legend
            legend = None
            for col, (name, lab) in zip(map_cols, shown_maps):
                with col:
                    st.caption(md_escape(name))
                    # each alignment in its own colours, as on every other page (neighbours never alike)
                    own_colors = cached.alignment_colors(dataset.fingerprint, dataset.accounts, lab,
                                                         dataset.territories)
                    view = maps.build_account_map(dataset.accounts, lab, dataset.territories, colors=own_colors,
                                                  states_geojson=cached.us_states_geojson(), show_homes=False,
                                                  width_px=250, height_px=190, point_radius_px=2.0, label_reps=False,
                                                  cache_key=f"{dataset.fingerprint}:{state.labels_fingerprint(lab)}")
                    st.pydeck_chart(view.deck, height=190, key=keys.scenario_map(name))
                    legend = legend or view.legend_html
            if legend is not None:
                with map_cols[-1]:
                    st.caption("Colours of the first map; each map colours its own neighbours apart")
                    st.html(legend)
            if len(labels_by_name) > 3:
                st.caption("Maps show the first three scenarios picked.")
            diff = differing_accounts(dataset.accounts, labels_by_name)
            if diff.empty:
                st.markdown("**Accounts whose territory differs**: none; every account is in the same territory "
                            "in all of them.")
            else:
                st.markdown(f"**Accounts whose territory differs** ({len(diff):,})")
                st.dataframe(diff, hide_index=True, width="stretch", height=widgets.table_height(len(diff), 300),
                             column_config={"account_id": "Account", "name": "Name"})

if share_tab.open:
    with share_tab:
        st.markdown("Import a scenario file (`.scenario.zip`, exported here or by the command line).")
        upload = st.file_uploader("Scenario file", type=["zip"], key=keys.SCN_IMPORT_FILE)
        if upload is not None:
            try:
                imported = scenario_from_bytes(upload.getvalue())
            except TerritoryError as error:
                st.error(md_escape(error))
            else:
                _, mismatch = ui.scenario_labels(imported, dataset.accounts)
                st.markdown(f"**{md_escape(imported.name)}**: {imported.accounts:,} accounts, "
                            f"{imported.territories} territories.")
                if mismatch:
                    st.warning(md_escape(mismatch))
                overwrite = st.checkbox("Overwrite a scenario with the same name", key=keys.SCN_IMPORT_OVERWRITE)
                if st.button("Import", key=keys.SCN_IMPORT, type="primary"):
                    try:
                        saved = store.save(imported, overwrite=overwrite)
                    except TerritoryError as error:
                        st.error(md_escape(error))
                    else:
                        ui.flash(f"Imported **{md_escape(imported.name)}**{rules_note(imported, saved)}.")
                        st.rerun()

if history_tab.open:
    with history_tab:
        history = store.history(limit=500)
        if history.empty:
            st.caption("Nothing recorded yet: saves, renames, deletes and activations appear here.")
        else:
            st.dataframe(history.assign(at=clock.local_times(history["at"])), hide_index=True, width="stretch",
                         column_config={"at": st.column_config.DatetimeColumn(f"When{clock.zone_suffix()}",
                                                                              format="D MMM YYYY, HH:mm"),
                                        "action": "Action", "scenario": "Scenario",
                                        "detail": "Detail", "user": "User"})
