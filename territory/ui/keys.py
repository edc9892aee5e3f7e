"""The session-state contract: every ``st.session_state`` key and widget ``key=`` of the app, one prefix.

Every key is ``ts_`` + the page it belongs to + a name. Keys marked *non-widget* hold what must
survive a page change (widget keys are deleted when the user leaves the page that drew them);
the others are widget keys. The Rebalance settings keys are generated from the fields of
``territory.ui.rebalance.RebalanceSettings`` (:func:`setting_keys`), one key per field.
``tests/app/test_keys.py`` checks that no module of ``territory/ui`` or ``pages/`` spells a key
itself.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

PREFIX = "ts_"


def key(name: str) -> str:
    """The session key called ``name`` (the prefix added)."""
    return PREFIX + name


def child(parent: str, part: str) -> str:
    """The key of a widget drawn by a component under ``parent`` (``{parent}_{part}``)."""
    return f"{parent}_{part}"


def setting_key(page: str, field_name: str) -> str:
    """The key of one settings field's control, ``ts_{page}_{field}`` (another page may read it by name)."""
    return key(f"{page}_{field_name}")


def setting_keys(settings_class: Any, page: str) -> dict[str, str]:
    """{field name: key}: one key per field of a settings dataclass (:func:`setting_key`)."""
    return {f.name: setting_key(page, f.name) for f in fields(settings_class)}


def data_map(column: str, file_key: str) -> str:
    """The Data page's column-mapping selectbox of ``column`` in the file ``file_key``."""
    return key(f"data_map_{column}_{file_key}")


def routing_rules(fingerprint: str) -> str:
    """The Routing page's rules editor of the alignment ``fingerprint``."""
    return key(f"routing_rules_{fingerprint}")


def scenario_map(name: str) -> str:
    """The Scenarios page's map of the scenario ``name``."""
    return key(f"scn_map_{name}")


# --- the whole app (non-widget) ---------------------------------------------------------------
ALIGNMENT = key("alignment")  # non-widget
DATASET = key("dataset")  # non-widget
INITIALISED = key("initialised")  # non-widget
SETTINGS = key("settings")  # non-widget
SESSION = key("session")  # non-widget: this session's key in the URL and the session store
SESSION_HISTORY = key("session_history")  # non-widget: the undo steps and the current position
SESSION_SAVED = key("session_saved")  # non-widget: the settings last written to the store
SESSION_NOTE = key("session_note")  # non-widget: a one-off message about restoring the session
NOTES = key("notes")  # the data notes (widgets.data_notes) of a page that names no key

# --- data page --------------------------------------------------------------------------------
DATA = key("data")
DATA_ACCOUNTS_FILE = key("data_accounts_file")
DATA_BOOKINGS_FILE = key("data_bookings_file")
DATA_DOWNLOAD_REJECTED = key("data_download_rejected")
DATA_SOURCE = key("data_source")
DATA_TERRITORIES_FILE = key("data_territories_file")
DATA_USE_SAMPLE = key("data_use_sample")
DATA_USE_UPLOAD = key("data_use_upload")
DATA_OPPORTUNITIES_FILE = key("data_opportunities_file")
DATA_OPPORTUNITIES_REPORT = key("data_opportunities_report")
DATA_QUOTAS_FILE = key("data_quotas_file")
DATA_QUOTAS_REPORT = key("data_quotas_report")

# --- overview page ----------------------------------------------------------------------------
OVERVIEW = key("overview")
OVERVIEW_HEATMAP = key("overview_heatmap")
OVERVIEW_COLOR_BY = key("overview_color_by")
OVERVIEW_MAP = key("overview_map")
OVERVIEW_OUTLINES = key("overview_outlines")
OVERVIEW_TOLERANCE = key("overview_tolerance")
OVERVIEW_WORKLOAD_BAR = key("overview_workload_bar")

# --- territories page -------------------------------------------------------------------------
TERRITORIES = key("territories")
TERRITORIES_CAPACITY_TABLE = key("territories_capacity_table")
TERRITORIES_DOWNLOAD = key("territories_download")
TERRITORIES_HIRE_COUNT = key("territories_hire_count")
TERRITORIES_HIRE_GO = key("territories_hire_go")
TERRITORIES_HIRE_SCOPE = key("territories_hire_scope")
TERRITORIES_HOURS_PER_FTE = key("territories_hours_per_fte")
TERRITORIES_UTILISATION = key("territories_utilisation")
TERRITORIES_GEOGRAPHY = key("territories_geography")  # parent of one button per format (child keys)
TERRITORIES_DRILL = key("territories_drill")
TERRITORIES_DRILL_MAP = key("territories_drill_map")
TERRITORIES_MIX_REVENUE = key("territories_mix_revenue")
TERRITORIES_MIX_WORKLOAD = key("territories_mix_workload")
TERRITORIES_PARETO = key("territories_pareto")
TERRITORIES_ROLLUP_LEVEL = key("territories_rollup_level")

# --- rebalance page ---------------------------------------------------------------------------
REBALANCE = key("rebalance")
REBALANCE_AFTER_KPIS = key("rebalance_after_kpis")
REBALANCE_BEFORE_KPIS = key("rebalance_before_kpis")
REBALANCE_CHART_DISTRIBUTION = key("rebalance_chart_distribution")
REBALANCE_CHART_FLOWS = key("rebalance_chart_flows")
REBALANCE_CHART_TRADEOFF = key("rebalance_chart_tradeoff")
REBALANCE_CLEAR_EVENT = key("rebalance_clear_event")
REBALANCE_CLEAR_EVENT_AFTER_ERROR = key("rebalance_clear_event_after_error")
REBALANCE_DATASET = key("rebalance_dataset")  # non-widget
REBALANCE_COUNT_FOR = key("rebalance_count_for")  # non-widget: the alignment the territory count was set for
REBALANCE_TYPES_FOR = key("rebalance_types_for")  # non-widget: the types the counted-types choice was made among
REBALANCE_DL_CSV = key("rebalance_dl_csv")
REBALANCE_DL_XLSX = key("rebalance_dl_xlsx")
REBALANCE_EVENT = key("rebalance_event")  # non-widget
REBALANCE_LEAVING_TERRITORY = key("rebalance_leaving_territory")
REBALANCE_LOCKED_TABLE = key("rebalance_locked_table")
REBALANCE_MAKE_ACTIVE = key("rebalance_make_active")
REBALANCE_MANUAL_MOVES = key("rebalance_manual_moves")  # non-widget
REBALANCE_MAP = key("rebalance_map")
REBALANCE_MAP_AFTER = key("rebalance_map_after")
REBALANCE_MAP_BEFORE = key("rebalance_map_before")
REBALANCE_MAP_FOCUS = key("rebalance_map_focus")
REBALANCE_MOVE = key("rebalance_move")
REBALANCE_MOVED_TABLE = key("rebalance_moved_table")
REBALANCE_MOVE_TO = key("rebalance_move_to")
REBALANCE_NEW_HIRE = key("rebalance_new_hire")
REBALANCE_HIRE_ZIP = key("rebalance_hire_zip")
REBALANCE_HIRE_FTE = key("rebalance_hire_fte")
REBALANCE_HIRE_USE_SUGGESTION = key("rebalance_hire_use_suggestion")
REBALANCE_HIRE_MAP = key("rebalance_hire_map")
REBALANCE_HIRE_MAP_OPEN = key("rebalance_hire_map_open")
REBALANCE_TEAM_SIZE = key("rebalance_team_size")  # + "_<industry>": one number input per team
REBALANCE_PICK_CHART = key("rebalance_pick_chart")
REBALANCE_PICK_CODES = key("rebalance_pick_codes")
REBALANCE_PICK_FROM = key("rebalance_pick_from")
REBALANCE_PICK_TABLE = key("rebalance_pick_table")
REBALANCE_REP_LEAVES = key("rebalance_rep_leaves")
REBALANCE_SCENARIO = key("rebalance_scenario")
REBALANCE_SETTINGS = key("rebalance_settings")  # non-widget
REBALANCE_SWEEP = key("rebalance_sweep")
REBALANCE_TAB = key("rebalance_tab")
REBALANCE_UNLOCK = key("rebalance_unlock")
REBALANCE_UNLOCK_AFTER_ERROR = key("rebalance_unlock_after_error")
REBALANCE_UNLOCK_ALL = key("rebalance_unlock_all")
REBALANCE_WITHIN_TABLE = key("rebalance_within_table")

# --- scenarios page -----------------------------------------------------------------
SCN_ACTIVATE = key("scn_activate")
SCN_COMPARE = key("scn_compare")
SCN_DELETE = key("scn_delete")
SCN_DELETE_CONFIRM = key("scn_delete_confirm")
SCN_DL_CSV = key("scn_dl_csv")
SCN_DL_GEOGRAPHY = key("scn_dl_geography")  # parent of one button per format (child keys)
SCN_DL_REPORT = key("scn_dl_report")
SCN_DL_XLSX = key("scn_dl_xlsx")
SCN_DL_ZIP = key("scn_dl_zip")
SCN_IMPORT = key("scn_import")
SCN_IMPORT_FILE = key("scn_import_file")
SCN_IMPORT_OVERWRITE = key("scn_import_overwrite")
SCN_OPEN = key("scn_open")
SCN_RENAME = key("scn_rename")
SCN_RENAME_TO = key("scn_rename_to")
SCN_SAVE = key("scn_save")
SCN_STRIP = key("scn_strip")
SCN_TAB = key("scn_tab")
SCENARIO_FLASH = key("scenario_flash")  # non-widget

# --- routing page -----------------------------------------------------------------------------
ROUTING_DOWNLOAD = key("routing_download")
ROUTING_EMPLOYEES = key("routing_employees")
ROUTING_GUARD = key("routing_guard")
ROUTING_INDUSTRY = key("routing_industry")
ROUTING_LOAD = key("routing_load")
ROUTING_LOAD_CHART = key("routing_load_chart")
ROUTING_LOAD_TABLE = key("routing_load_table")
ROUTING_NEW_ACCOUNTS = key("routing_new_accounts")
ROUTING_REJECTED = key("routing_rejected")
ROUTING_RESULT = key("routing_result")
ROUTING_REVENUE = key("routing_revenue")
ROUTING_RULES = key("routing_rules")  # non-widget
ROUTING_RULES_DOWNLOAD = key("routing_rules_download")
ROUTING_RULES_RESET = key("routing_rules_reset")
ROUTING_RULES_UPLOAD = key("routing_rules_upload")
ROUTING_SAVE = key("routing_save")
ROUTING_SAVE_TO = key("routing_save_to")
ROUTING_STATE = key("routing_state")
ROUTING_ZIP = key("routing_zip")

# --- rep page ---------------------------------------------------------------------------------
REP_DOWNLOAD = key("rep_download")
REP_MAP = key("rep_map")
REP_MOVED_IN = key("rep_moved_in")
REP_MOVED_OUT = key("rep_moved_out")
REP_HUNT = key("rep_hunt")
REP_TERRITORY = key("rep_territory")
REP_TOP_ACCOUNTS = key("rep_top_accounts")
REP_TREND = key("rep_trend")

# --- review page ------------------------------------------------------------------------------
REVIEW = key("review")
REVIEW_ALIGNMENT = key("review_alignment")
REVIEW_ATTAINMENT = key("review_attainment")
REVIEW_BLEND = key("review_blend")
REVIEW_FAR_KM = key("review_far_km")
REVIEW_FAR_REACH_FACTOR = key("review_far_reach_factor")
REVIEW_FLAGS_TABLE = key("review_flags_table")
REVIEW_HUNT_TABLE = key("review_hunt_table")
REVIEW_FOCUS = key("review_focus")
REVIEW_HIGH_POTENTIAL = key("review_high_potential")
REVIEW_MAX_UTILISATION = key("review_max_utilisation")
REVIEW_JUMP = key("review_jump")
REVIEW_JUMP_REQUESTED = key("review_jump_requested")  # non-widget
REVIEW_LOW_PENETRATION = key("review_low_penetration")
REVIEW_MAP = key("review_map")
REVIEW_MAP_LAYER = key("review_map_layer")
REVIEW_MAX_ACCOUNTS = key("review_max_accounts")
REVIEW_MAX_VS_LAST = key("review_max_vs_last")
REVIEW_MAX_VS_POTENTIAL = key("review_max_vs_potential")
REVIEW_PARETO = key("review_pareto")
REVIEW_PARETO_TABLE = key("review_pareto_table")
REVIEW_PERFORMANCE_TABLE = key("review_performance_table")
REVIEW_QUOTA_CHART = key("review_quota_chart")
REVIEW_QUOTA_TABLE = key("review_quota_table")
REVIEW_REPORT = key("review_report")
REVIEW_ROLLUP_LEVEL = key("review_rollup_level")
REVIEW_ROLLUP_TABLE = key("review_rollup_table")
REVIEW_TOTAL = key("review_total")
REVIEW_TREND = key("review_trend")
REVIEW_WHITE_SPACE_INDUSTRIES = key("review_white_space_industries")
REVIEW_WHITE_SPACE_TERRITORIES = key("review_white_space_territories")
REVIEW_XLSX = key("review_xlsx")
REVIEW_FORECAST_FOCUS = key("review_forecast_focus")
REVIEW_FORECAST_WEIGHT = key("review_forecast_weight")
REVIEW_FORECAST_REGIONS = key("review_forecast_regions")
REVIEW_FORECAST_SCORES = key("review_forecast_scores")
REVIEW_FORECAST_TABLE = key("review_forecast_table")
REVIEW_PIPELINE = key("review_pipeline")
REVIEW_PIPELINE_TABLE = key("review_pipeline_table")

# --- the sidebar ------------------------------------------------------------------------------
SIDEBAR_RESET_ALIGNMENT = key("sidebar_reset_alignment")
SIDEBAR_UNDO = key("sidebar_undo")
SIDEBAR_REDO = key("sidebar_redo")
