"""Command-line interface: ``python -m territory COMMAND ...`` (check, balance, scenario, report, assign,
rules, export-crm, forecast, geography).

The CLI calls the same functions as the app, so sales-ops automation and the dashboard agree.
Every expected failure (unreadable file, bad parameter) prints one line to stderr and exits 2;
no traceback reaches the user. The package is imported inside each command, deliberately: ``--help``
and a usage error answer in a twentieth of a second instead of the second pandas, scipy and plotly take.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from territory.errors import TerritoryError

if TYPE_CHECKING:
    import pandas as pd

UNIT_CHOICES = ("account", "zip", "zip3", "county", "state")
"""``--units``: territory.planning.units.UNITS, written out so that --help needs no pandas (a test checks
they agree)."""
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 128 + 13
"""The reader of stdout went away (``check FILE | head``): the status a shell shows for a program
stopped by SIGPIPE, as ``cat`` or ``yes`` would be, and nothing printed."""


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints the whole usage block on a bad argument; we print one line instead."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser; docs/cli.md documents every option here (tests/test_docs.py checks it)."""
    parser = _OneLineParser(
        prog="python -m territory",
        description="Territory Studio: check account files and balance sales territories.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    commands.required = True

    check = commands.add_parser(
        "check",
        help="load an accounts file and report loaded, rejected and questionable rows",
        description="Load a CSV or XLSX accounts file and print the validation report.",
    )
    check.add_argument("file", metavar="FILE", help="CSV or XLSX accounts file (CRM export)")
    check.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    _add_map_option(check)
    check.set_defaults(handler=_cmd_check)

    _add_balance_parser(commands)
    _add_scenario_parsers(commands)
    _add_routing_parsers(commands)
    _add_forecast_parser(commands)
    _add_capacity_parser(commands)
    _add_geography_parser(commands)

    return parser


def _cmd_check(args: argparse.Namespace) -> int:
    from territory.data.io import format_report, load_accounts

    result = load_accounts(args.file, mapping=_mapping(args))
    if args.json:
        import json

        print(json.dumps(result.report.to_dict(), ensure_ascii=False))
    else:
        print(format_report(result.report))
    return EXIT_OK


def parse_map(text: str) -> tuple[str, str]:
    """``--map COLUMN=FILE_COLUMN``: take a canonical column from a file column ('' unmaps it).

    >>> parse_map("potential=Annual Revenue"), parse_map("industry=")
    (('potential', 'Annual Revenue'), ('industry', ''))
    """
    target, sep, column = text.partition("=")
    if not sep or not target.strip():
        raise argparse.ArgumentTypeError(
            f"--map takes COLUMN=FILE_COLUMN, e.g. potential='Annual Revenue', got {text!r}")
    return target.strip(), column.strip()


def _add_map_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--map", type=parse_map, action="append", default=[], metavar="COLUMN=FILE_COLUMN",
        help="take COLUMN from FILE_COLUMN instead of the automatic match, e.g. potential='Annual Revenue' "
             "(repeatable; COLUMN= with nothing after it leaves a column unmapped)",
    )


def _mapping(args: argparse.Namespace) -> dict[str, str] | None:
    return dict(getattr(args, "map", None) or []) or None


# --- balance ------------------------------------------------------------------------------------



def _territory_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _scope(text: str) -> tuple[str, str]:
    from territory.errors import ParameterError
    from territory.planning.scope import parse_scope

    try:
        return parse_scope(text)
    except ParameterError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number such as 0.05, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be above 0 and below 1 (0.05 means +/-5%), got {text}")
    return value


def _unit_interval():
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, got {text!r}") from None
        if not 0.0 <= value <= 1.0:
            raise argparse.ArgumentTypeError(f"must be from 0 to 1, got {text}")
        return value

    return parse


def parse_balance_on(text: str) -> str | tuple[tuple[str, float], ...]:
    """``workload`` or a composite ``workload:0.7,potential:0.3`` (weights normalised to sum 1).

    >>> parse_balance_on("revenue")
    'revenue'
    >>> parse_balance_on("workload:0.7, potential:0.3")
    (('workload', 0.7), ('potential', 0.3))
    """
    from territory.data.measures import parse_balance_on as parse_measure

    try:
        return parse_measure(text.lower())
    except TerritoryError as error:  # argparse turns this into its one-line usage error
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_also_balance(text: str) -> tuple[str, ...]:
    """``--also-balance``: a comma list of measures that must be within the tolerance too.

    >>> parse_also_balance("Revenue, potential")
    ('revenue', 'potential')
    """
    from territory.data.schema import MEASURES

    names = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in MEASURES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"{', '.join(unknown) or text!r} is not a measure; choose from {', '.join(MEASURES)} (comma-separated).")
    return names


def parse_move_budget(text: str) -> tuple[int | None, float | None]:
    """``--move-budget``: "N" caps moved accounts, "X%" caps moved revenue (percent of total).

    >>> parse_move_budget("40"), parse_move_budget("2.5%")
    ((40, None), (None, 2.5))
    """
    raw = text.strip()
    try:
        if raw.endswith("%"):
            percent = float(raw[:-1])
            if not 0.0 <= percent <= 100.0:
                raise argparse.ArgumentTypeError(f"--move-budget percent runs from 0% to 100%, got {raw}")
            return None, percent
        count = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--move-budget takes a number of accounts (40) or a share of revenue (2.5%), got {text!r}"
        ) from None
    if count < 0:
        raise argparse.ArgumentTypeError(f"--move-budget cannot be negative, got {count}")
    return count, None


def _add_balance_parser(commands: argparse._SubParsersAction) -> None:
    balance = commands.add_parser(
        "balance",
        help="balance accounts into territories and write the new alignment",
        description=(
            "Balance accounts into K territories (compact, contiguous, low-disruption) and report "
            "the scorecard. INPUT is any file `check` accepts; the shipped sample when omitted. "
            "A territory_id column in INPUT is the current alignment: its IDs are kept."
        ),
    )
    balance.add_argument("input", nargs="?", metavar="INPUT", help="CSV or XLSX accounts file (default: the sample)")
    balance.add_argument(
        "--territories",
        "-k",
        type=_territory_count,
        metavar="K",
        help="number of territories (default: as many as the current alignment or --reps has)",
    )
    balance.add_argument(
        "--balance-on",
        type=parse_balance_on,
        default="workload",
        metavar="MEASURE",
        help='workload (default), revenue, potential, accounts, or a blend like "workload:0.7,potential:0.3"',
    )
    balance.add_argument(
        "--also-balance",
        type=parse_also_balance,
        default=(),
        metavar="MEASURES",
        help='further measures to bring within the tolerance too, e.g. "revenue" or "revenue,potential"',
    )
    balance.add_argument(
        "--tolerance", type=_tolerance, default=0.05, metavar="T", help="allowed deviation from target, 0.05 = +/-5%%"
    )
    balance.add_argument(
        "--stability",
        type=_unit_interval(),
        default=0.5,
        metavar="S",
        help="0..1: 1 keeps every account whose move is not needed for the tolerance (default 0.5)",
    )
    balance.add_argument(
        "--compactness",
        type=_unit_interval(),
        default=0.5,
        metavar="C",
        help="0..1: trade travel distance against balance (default 0.5)",
    )
    balance.add_argument(
        "--industry-focus",
        type=_unit_interval(),
        default=0.0,
        metavar="F",
        help="0..1: territories specialise in fewer industries, for up to 30%% x F more travel (default 0)",
    )
    balance.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (same seed, same result)")
    balance.add_argument(
        "--move-budget",
        type=parse_move_budget,
        default=(None, None),
        metavar="B",
        help='cap on what may move: "40" accounts or "2.5%%" of revenue',
    )
    balance.add_argument(
        "--only-fix-outside",
        action="store_true",
        help="move accounts only out of the territories outside the band, into their neighbours",
    )
    balance.add_argument(
        "--reps", metavar="FILE", help="territories/reps file (territory_id, rep_name, capacity_fte, ...)"
    )
    balance.add_argument(
        "--scope", type=_scope, action="append", default=[], metavar="LEVEL=NAME",
        help="rebalance only the territories of region=NAME or district=NAME among themselves (repeatable: "
             "the choices add up); every other account stays exactly as it is",
    )
    balance.add_argument(
        "--within", choices=("region", "district"), metavar="LEVEL",
        help="balance every region (or district) among its own territories: no territory mixes regions",
    )
    balance.add_argument(
        "--units", choices=UNIT_CHOICES, default="account", metavar="UNIT",
        help="what moves as a whole: account (default), zip, zip3, county or state; all accounts of a unit "
             "end in the same territory",
    )
    balance.add_argument(
        "--types", metavar="TYPES",
        help='account types that count for balancing, comma-separated, or "all" (default '
             '"customer,prospect,no type"); the others get a territory but carry no load',
    )
    _add_map_option(balance)
    balance.add_argument("--output", "-o", metavar="OUT", help="write one row per account to OUT.csv or OUT.xlsx")
    balance.add_argument("--json", action="store_true", help="print one JSON object (the scorecard) instead of text")
    balance.add_argument("--save-as", metavar="NAME", help="also save the result as a named scenario")
    balance.add_argument("--overwrite", action="store_true", help="with --save-as: replace a scenario of that name")
    balance.add_argument("--db", metavar="PATH",
                         help="scenario database for --save-as (default: $TERRITORY_STUDIO_DB or the user data dir)")
    balance.set_defaults(handler=_cmd_balance)


def _load_balance_input(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Accounts and (optional) reps table for ``balance``: the file given, else the shipped sample."""
    from pathlib import Path

    from territory.errors import DataError

    territories = None
    if args.input is None:
        from territory.data.sample import load_sample

        sample = load_sample()
        accounts, territories = sample.accounts, sample.territories
    else:
        from territory.data.io import load_accounts

        path = Path(args.input)
        if not path.is_file():
            raise DataError(f"Cannot read {args.input}: no such file.")
        from territory.data.io import keyed_by_owner, owner_territories
        from territory.data.schema import DEFAULT_CAPACITY_FTE

        loaded = load_accounts(path, mapping=_mapping(args))
        accounts = loaded.accounts
        if keyed_by_owner(loaded.report.mapping):  # each owner is the rep of their territory
            territories = owner_territories(accounts).assign(capacity_fte=DEFAULT_CAPACITY_FTE)
        if loaded.report.rows_rejected:
            print(
                f"note: {loaded.report.rows_rejected:,} of {loaded.report.rows_read:,} rows rejected; "
                f"run `python -m territory check {args.input}` to see why.",
                file=sys.stderr,
            )
    if args.reps is not None:
        from territory.data.io import load_territories

        if not Path(args.reps).is_file():
            raise DataError(f"Cannot read {args.reps}: no such file.")
        territories = load_territories(args.reps)
    if len(accounts) == 0:
        raise DataError("No accounts to balance: every row was rejected or the file is empty.")
    return accounts, territories


def _json_ready(value):
    from territory.planning.scenarios import json_ready

    return json_ready(value)


def _write_alignment(accounts: pd.DataFrame, assignment: pd.DataFrame, path_text: str,
                     territories: pd.DataFrame | None = None) -> int:
    """One row per account: the assignment columns first, the new territory's rep when any is known
    (an owner-based file: the owner), then every input column carried through."""
    from pathlib import Path

    import pandas as pd

    from territory.data.schema import ACCOUNT_ID, REP_NAME, TERRITORY_ID
    from territory.errors import DataError, ParameterError

    path = Path(path_text)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ParameterError(f"--output must end in .csv or .xlsx, got {path.name!r}")
    lead = [ACCOUNT_ID, TERRITORY_ID, "previous_territory_id", "moved", "reason"]
    rest = accounts.drop(columns=[c for c in lead if c in accounts.columns])
    table = pd.concat([assignment[lead], rest], axis=1)
    if territories is not None and REP_NAME in territories and territories[REP_NAME].notna().any() \
            and REP_NAME not in table:
        reps = dict(zip(territories[TERRITORY_ID].astype(str), territories[REP_NAME]))
        table.insert(len(lead), REP_NAME, assignment[TERRITORY_ID].astype(str).map(reps).astype("string"))
    from territory.data.spreadsheet import to_csv_bytes, to_xlsx_bytes  # formula-safe writers

    try:
        path.write_bytes(to_csv_bytes(table) if suffix == ".csv" else to_xlsx_bytes({"alignment": table}))
    except OSError as error:
        raise DataError(f"Cannot write {path}: {error.strerror or error}") from None
    return len(table)


def _refuse_overwriting(output: str | None, *sources: object) -> None:
    """A ParameterError when ``output`` is a file the command reads (the same file by any path or link):
    writing it would destroy the input before, or while, it is used."""
    import os

    from territory.errors import ParameterError

    if output is None or not os.path.exists(output):
        return
    for source in sources:
        try:
            same = source is not None and os.path.samefile(output, source)
        except (OSError, ValueError):  # the source does not exist (yet), or the path has a NUL
            same = False
        if same:
            raise ParameterError(
                f"{output} is also an input ({source}): writing it would overwrite what is being read; "
                "choose another output file."
            )


def _check_save_as(args: argparse.Namespace) -> None:
    """``--save-as``: refuse an empty, invalid or taken name (without --overwrite) before balancing."""
    if args.save_as is None:
        return
    from territory.planning.scenarios import ScenarioExistsError, validate_name

    args.save_as = validate_name(args.save_as)  # "" is refused, not taken as "do not save"
    if not args.overwrite and _store(args).exists(args.save_as):
        raise ScenarioExistsError(
            f"A scenario named {args.save_as!r} already exists: pass --overwrite or choose another name."
        )


def _cmd_balance(args: argparse.Namespace) -> int:
    import json
    import time

    from territory.balance import BalanceParams, balance
    from territory.data.schema import TERRITORY_ID
    from territory.errors import ParameterError
    from territory.planning.account_types import balance_by_type, counted_mask, describe_counted, type_counts
    from territory.planning.metrics import scorecard
    from territory.planning.units import keep_units_whole

    started = time.perf_counter()
    _refuse_overwriting(args.output, args.input, args.reps, _db_path(args))
    _check_save_as(args)
    accounts, territories = _load_balance_input(args)
    has_current = TERRITORY_ID in accounts.columns and bool(accounts[TERRITORY_ID].notna().any())
    if args.territories is None and not has_current and territories is None:
        raise ParameterError(
            "How many territories? Pass --territories K: the input has no territory_id column and no --reps."
        )
    if args.territories is not None and args.territories > len(accounts):
        raise ParameterError(
            f"--territories {args.territories} is more than the {len(accounts):,} accounts to share out."
        )
    budget_accounts, budget_revenue_pct = args.move_budget
    params = BalanceParams(
        n_territories=args.territories,
        balance_on=args.balance_on,
        tolerance=args.tolerance,
        stability=args.stability,
        compactness=args.compactness,
        move_budget_accounts=budget_accounts,
        move_budget_revenue_pct=budget_revenue_pct,
        also_balance=args.also_balance,
        industry_focus=args.industry_focus,
        seed=args.seed,
        only_fix_outside=args.only_fix_outside,
    )
    counted = _counted_types(args, accounts)
    result = balance_by_type(accounts, params, territories, counted, runner=_runner(args, balance))
    result = keep_units_whole(accounts, counted_mask(accounts, counted), result, args.units)
    labels = result.assignment[TERRITORY_ID]
    previous = result.assignment["previous_territory_id"] if has_current else None
    balance_on = args.balance_on if isinstance(args.balance_on, str) else dict(args.balance_on)
    # The figures come from the labels alone (not the engine's centres): the app, a saved scenario
    # and the report show the same numbers for this alignment. They count the counted types only.
    mask = counted_mask(accounts, counted)
    card = scorecard(accounts[mask], labels[mask], previous=None if previous is None else previous[mask],
                     territories=result.territories, balance_on=balance_on)
    apart = type_counts(accounts[~mask])
    written = _write_alignment(accounts, result.assignment, args.output, result.territories) if args.output else None
    saved_as, saved_note = None, ""
    if args.save_as is not None:
        from territory.planning.basis import Basis
        from territory.planning.scenarios import build_scenario, params_to_dict, rules_note

        saved_params = (params_to_dict(params) | Basis(params.balance_on, params.tolerance, counted).params()
                        | ({"units": args.units} if args.units != "account" else {}))
        scenario = build_scenario(
            args.save_as, accounts, labels, previous=previous, reasons=result.assignment["reason"],
            params=saved_params, metrics=_json_ready(card),
        )
        saved = _store(args).save(scenario, overwrite=args.overwrite)
        saved_as, saved_note = saved.name, rules_note(scenario, saved)
    summary = {
        "territories": card["territories"],
        "accounts": len(accounts),
        "counted_types": sorted(set(type_counts(accounts[mask]).index)),
        "counted_accounts": int(mask.sum()),
        "shown_apart": {str(k): int(v) for k, v in apart.items()},
        "balance_on": args.balance_on if isinstance(args.balance_on, str) else dict(args.balance_on),
        "tolerance": args.tolerance,
        "max_deviation_pct": card.get("max_deviation_pct"),
        "also_balance": {m: card.get(f"{m}_max_deviation_pct") for m in args.also_balance},
        "cv": card.get("cv"),
        "weighted_mean_distance_km": card.get("weighted_mean_distance_km"),
        "fragmented_territories": card.get("fragmented_territories"),
        "stray_workload_pct": card.get("stray_workload_pct"),
        "moved_accounts": card["moved_accounts"],
        "moved_revenue_pct": card.get("moved_revenue_pct"),
        "feasible": bool(result.feasible),
        "seconds": round(time.perf_counter() - started, 3),
        "engine_seconds": round(float(result.seconds), 3),
        "messages": list(result.messages),
        "notes": [{"code": note.code, "warning": note.warning, "text": note.text, "data": dict(note.data)}
                  for note in result.notes],
        "least_moved": result.least_moved,
        "least_moved_nearby": result.least_moved_nearby,
        "units": args.units,
        "scope": _scope_summary(args, accounts[mask], labels[mask], territories, result, balance_on),
        "within": _within_summary(args, accounts[mask], labels[mask], territories, balance_on),
        "output": args.output,
        "saved_as": saved_as,
        "scorecard": card,
    }
    if args.json:
        print(json.dumps(_json_ready(summary), ensure_ascii=False))
        return EXIT_OK
    label = summary["balance_on"] if isinstance(summary["balance_on"], str) else args_text(args.balance_on)
    print(
        f"Balanced {int(mask.sum()):,} accounts into {summary['territories']} territories on {label} "
        f"in {summary['seconds']:.2f} s ({'within' if result.feasible else 'NOT within'} "
        f"+/-{args.tolerance:.0%})."
    )
    print(
        f"max deviation {_fmt(summary['max_deviation_pct'], '%')} | CV {_fmt(summary['cv'])} | "
        f"weighted mean distance {_fmt(summary['weighted_mean_distance_km'], ' km')} | "
        f"fragmented territories {summary['fragmented_territories']} | "
        f"moved {summary['moved_accounts']} accounts ({_moved_revenue_text(summary['moved_revenue_pct'])})"
    )
    print(describe_counted(accounts, counted))
    for message in result.messages:
        print(f"- {message}")
    if written is not None:
        print(f"Wrote {written:,} rows to {args.output}")
    if saved_as is not None:
        print(f"Saved scenario {saved_as!r}{saved_note}")
    return EXIT_OK


def _runner(args: argparse.Namespace, engine):
    """The engine call of ``balance``: the engine itself, or (with --scope) the engine on the scope alone, or
    (with --within) on each region or district; with --units, the engine balances whole units."""
    from territory.errors import ParameterError
    from territory.planning.scope import balance_in_scope, balance_within
    from territory.planning.units import units_runner

    engine = units_runner(args.units, engine)
    if args.scope and args.within:
        raise ParameterError("--scope and --within do not go together: --scope balances one part, --within every part.")
    if args.within:
        return lambda accounts, params, territories: balance_within(accounts, params, territories, args.within, engine)
    if not args.scope:
        return engine

    scope = tuple(dict.fromkeys(args.scope))
    return lambda accounts, params, territories: balance_in_scope(accounts, params, territories, scope, engine)


def _scope_summary(args: argparse.Namespace, accounts: pd.DataFrame, labels: pd.Series,
                   territories: pd.DataFrame | None, result, balance_on) -> dict | None:
    """With --scope: what was in scope and the scope's own balance (its targets are its own total)."""
    if not args.scope:
        return None
    from territory.planning.metrics import scorecard
    from territory.planning.scope import SCOPE_NOTE, scope_ids

    note = result.note(SCOPE_NOTE)
    ids = scope_ids(territories, tuple(args.scope))
    inside = accounts["territory_id"].astype("string").isin(ids).fillna(False).to_numpy(dtype=bool)
    card = scorecard(accounts[inside], labels[inside], previous=accounts["territory_id"][inside],
                     territories=territories[territories["territory_id"].astype(str).isin(ids)],
                     balance_on=balance_on)
    return {"choices": [f"{level}={name}" for level, name in dict.fromkeys(args.scope)],
            "territories": list(note.data["territories"]) if note else [],
            "accounts": int(inside.sum()), "max_deviation_pct": card.get("max_deviation_pct"),
            "moved_accounts": card.get("moved_accounts")}


def _number_in(low: float, high: float, example: str, bounds: str):
    """An argparse type: a number above ``low`` and at most ``high``; errors quote ``example`` and ``bounds``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number such as {example}, got {text!r}") from None
        if not low < value <= high:
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value

    return parse


def _add_capacity_parser(commands: argparse._SubParsersAction) -> None:
    capacity = commands.add_parser(
        "capacity",
        help="the reps each region and district needs at a target utilisation",
        description=(
            "Capacity planning: for the company, each region and each district, the workload (h/yr), "
            "today's FTE, the FTE needed (workload / (hours per FTE x utilisation)) and the gap."
        ),
    )
    capacity.add_argument("input", nargs="?", metavar="INPUT",
                          help="CSV or XLSX accounts file with territory_id (default: the sample)")
    capacity.add_argument("--hours-per-fte", type=_number_in(0, 8760, "1600", "above 0 and at most 8760 (hours in a "
                                                             "year)"), required=True, metavar="H",
                          help="selling hours a full-time rep has per year, e.g. 1600")
    capacity.add_argument("--utilisation", type=_number_in(0, 1, "0.85", "above 0 and at most 1 (0.85 = 85%)"),
                          default=1.0, metavar="U",
                          help="share of those hours the accounts should take, 0..1 (default 1)")
    capacity.add_argument("--reps", metavar="FILE",
                          help="territories/reps file (territory_id, region, district, capacity_fte)")
    _add_map_option(capacity)
    capacity.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    capacity.set_defaults(handler=_cmd_capacity)


def _cmd_capacity(args: argparse.Namespace) -> int:
    import json

    from territory.data.schema import TERRITORY_ID
    from territory.errors import ParameterError
    from territory.planning.capacity import capacity_plan

    accounts, territories = _load_balance_input(args)
    if TERRITORY_ID not in accounts.columns or not accounts[TERRITORY_ID].notna().any():
        raise ParameterError("capacity planning needs today's alignment: the input has no territory_id values.")
    plan = capacity_plan(accounts, accounts[TERRITORY_ID], territories, args.hours_per_fte, args.utilisation)
    if args.json:
        print(json.dumps(_json_ready(plan.to_dict()), ensure_ascii=False))
        return EXIT_OK
    print(f"Reps needed at {args.utilisation:.0%} of {args.hours_per_fte:,.0f} h per FTE "
          "(gap > 0: under-staffed, hire; < 0: over-staffed, room):")
    print(f"{'level':<9} {'name':<20} {'workload h/yr':>14} {'FTE':>6} {'needed':>7} {'gap':>7}  status")
    for row in plan.levels.itertuples(index=False):
        print(f"{row.level:<9} {row.name[:20]:<20} {row.workload_hours:>14,.0f} {row.fte:>6.2f} "
              f"{row.fte_needed:>7.2f} {row.gap:>+7.2f}  {row.status}")
    if plan.unassigned_workload_hours:
        print(f"{plan.unassigned_workload_hours:,.0f} h/yr of accounts without a territory are in no level.")
    return EXIT_OK


def _within_summary(args: argparse.Namespace, accounts: pd.DataFrame, labels: pd.Series,
                    territories: pd.DataFrame | None, balance_on) -> dict | None:
    """With --within: the deviation of each region (or district) against its own total."""
    if not args.within:
        return None
    from territory.planning.scope import within_deviations

    groups = within_deviations(accounts, labels, accounts["territory_id"], territories, args.within, balance_on)
    return {"level": args.within, "groups": groups.to_dict("records")}


def _counted_types(args: argparse.Namespace, accounts: pd.DataFrame) -> tuple[str, ...] | None:
    """The types ``--types`` names (checked against the file's), the default when omitted, None for "all"."""
    from territory.planning.account_types import DEFAULT_COUNTED, parse_types, type_counts

    if args.types is None:
        return DEFAULT_COUNTED
    chosen = parse_types(args.types, available=list(type_counts(accounts).index))
    return None if chosen == ("all",) else chosen


def args_text(balance_on: tuple[tuple[str, float], ...]) -> str:
    from territory.planning.basis import Basis

    return Basis(balance_on).measure_text()


def _moved_revenue_text(pct) -> str:
    """The moved accounts' share of revenue, or why there is none (a file without our revenue)."""
    known = pct is not None and math.isfinite(float(pct))
    return _fmt(pct, "% of revenue") if known else "revenue unknown"


def _fmt(value, unit: str = "") -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "n/a"
    if number != number:
        return "n/a"
    return f"{number:.2f}{unit}"


# --- scenarios and report -------------------------------------------------------------------------


def _add_scenario_parsers(commands: argparse._SubParsersAction) -> None:
    db_help = "scenario database file (default: $TERRITORY_STUDIO_DB, else the user data directory)"
    scenario = commands.add_parser(
        "scenario",
        help="list, show, export, import, rename or delete saved scenarios",
        description="Manage saved what-if scenarios (the same store the app's Scenarios page uses).",
    )
    actions = scenario.add_subparsers(dest="action", metavar="ACTION", parser_class=_OneLineParser)
    actions.required = True

    listing = actions.add_parser("list", help="list saved scenarios")
    listing.add_argument("--json", action="store_true", help="print a JSON list of objects")
    show = actions.add_parser("show", help="show one scenario: parameters, metrics, territory sizes")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    export = actions.add_parser("export", help="write a scenario to a portable .zip file")
    export.add_argument("name", metavar="NAME")
    export.add_argument("--output", "-o", required=True, metavar="FILE", help="the .zip file to write")
    imported = actions.add_parser("import", help="read a scenario file into the store")
    imported.add_argument("file", metavar="FILE")
    imported.add_argument("--as", dest="rename_to", metavar="NAME", help="store it under another name")
    imported.add_argument("--overwrite", action="store_true", help="replace a scenario with the same name")
    rename = actions.add_parser("rename", help="rename a scenario")
    rename.add_argument("name", metavar="NAME")
    rename.add_argument("new_name", metavar="NEW_NAME")
    delete = actions.add_parser("delete", help="delete a scenario")
    delete.add_argument("name", metavar="NAME")
    for sub in (listing, show, export, imported, rename, delete):
        sub.add_argument("--db", metavar="PATH", help=db_help)
        sub.set_defaults(handler=_cmd_scenario)

    report = commands.add_parser(
        "report",
        help="write the self-contained HTML review report",
        description="Write the quarterly review report (one HTML file that opens offline).",
    )
    report.add_argument("input", nargs="?", metavar="INPUT",
                        help="accounts file as for `check` (default: the built-in sample)")
    report.add_argument("--reps", metavar="FILE", help="territories/reps file (capacity, rep names, homes)")
    report.add_argument("--scenario", metavar="NAME",
                        help="report this saved scenario against the file's alignment (default: the file's)")
    report.add_argument("--output", "-o", required=True, metavar="FILE", help="the .html file to write")
    report.add_argument("--bookings", metavar="FILE",
                        help="bookings file (account_id, quarter, amount) for the quarterly review section "
                             "(the sample's bookings when INPUT is omitted)")
    report.add_argument("--quotas", metavar="FILE",
                        help="quota file (territory_id or rep, quarter, quota): attainment against these quotas")
    report.add_argument("--opportunities", metavar="FILE",
                        help="opportunity export (Account ID, Amount, Close Date, Stage): closed-won bookings "
                             "when --bookings is not given")
    report.add_argument("--summary", action="store_true",
                        help="the meeting pack without its appendix (moved accounts, full review tables, "
                             "engine parameters): the sample prints to 7 Letter pages")
    report.add_argument("--title", default="Territory review", help="report title")
    report.add_argument("--tolerance", type=_tolerance, default=None,
                        help="tolerance band shown (default: the scenario's, else 0.05)")
    report.add_argument("--db", metavar="PATH", help=db_help)
    report.set_defaults(handler=_cmd_report)


def _db_path(args: argparse.Namespace):
    """The scenario database the command uses: --db, else the default; ``--db ""`` is refused."""
    from territory.errors import ParameterError
    from territory.planning.scenarios import default_db_path

    db = getattr(args, "db", None)
    if db is not None and not db.strip():
        raise ParameterError("--db needs the path of a database file.")
    return db if db is not None else default_db_path()


def _store(args: argparse.Namespace):
    from territory.planning.scenarios import ScenarioStore

    return ScenarioStore(_db_path(args))


def _cmd_scenario(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from territory.errors import DataError
    from territory.planning.scenarios import read_scenario_file, rules_note, scenario_to_bytes

    store = _store(args)
    if args.action == "list":
        listing = store.list()
        rows = [
            {"name": r.name, "created_at": r.created_at, "updated_at": r.updated_at, "accounts": int(r.accounts),
             "territories": int(r.territories), "notes": r.notes, "dataset_fingerprint": r.dataset_fingerprint}
            for r in listing.itertuples()
        ]
        if args.json:
            print(json.dumps(rows, ensure_ascii=False))
        elif not rows:
            print(f"No scenarios in {store.path}.")
        else:
            for row in rows:
                print(f"{row['name']}\t{row['accounts']:,} accounts\t{row['territories']} territories\t"
                      f"updated {row['updated_at']}")
        return EXIT_OK
    if args.action == "show":
        scenario = store.load(args.name)
        sizes = scenario.assignment.groupby("territory_id").size()
        info = {
            "name": scenario.name, "notes": scenario.notes, "created_at": scenario.created_at,
            "updated_at": scenario.updated_at, "accounts": scenario.accounts, "territories": scenario.territories,
            "moved_accounts": int(scenario.assignment["moved"].sum()),
            "dataset_fingerprint": scenario.dataset_fingerprint, "params": scenario.params,
            "metrics": scenario.metrics, "accounts_per_territory": {str(k): int(v) for k, v in sizes.items()},
        }
        if args.json:
            print(json.dumps(_json_ready(info), ensure_ascii=False))
        else:
            print(f"{info['name']}: {info['accounts']:,} accounts in {info['territories']} territories, "
                  f"{info['moved_accounts']:,} moved; updated {info['updated_at']}")
            if info["notes"]:
                print(f"notes: {info['notes']}")
            for key, value in info["params"].items():
                print(f"  {key} = {value}")
        return EXIT_OK
    if args.action == "export":
        _refuse_overwriting(args.output, store.path)
        path = Path(args.output)
        try:
            path.write_bytes(scenario_to_bytes(store.load(args.name)))
        except OSError as error:
            raise DataError(f"Cannot write {path}: {error.strerror or error}") from None
        print(f"Wrote scenario {args.name!r} to {path}")
        return EXIT_OK
    if args.action == "import":
        scenario = read_scenario_file(args.file, name=args.rename_to)  # --as "" is refused, not ignored
        saved = store.save(scenario, overwrite=args.overwrite)
        print(f"Imported scenario {saved.name!r} ({saved.accounts:,} accounts{rules_note(scenario, saved)}) "
              f"into {store.path}")
        return EXIT_OK
    if args.action == "rename":
        store.rename(args.name, args.new_name)
        print(f"Renamed {args.name!r} to {args.new_name!r}")
        return EXIT_OK
    store.delete(args.name)
    print(f"Deleted scenario {args.name!r}")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from territory.data.sample import us_states_geojson
    from territory.data.schema import TERRITORY_ID
    from territory.errors import DataError
    from territory.planning.account_types import DEFAULT_COUNTED
    from territory.planning.basis import Basis, basis_from_params
    from territory.planning.scenarios import aligned_assignment
    from territory.reporting.report import ReportInput, build_report

    _refuse_overwriting(args.output, args.input, args.reps, args.bookings, args.quotas, args.opportunities,
                        _db_path(args))
    accounts, territories = _load_balance_input(args)
    before = accounts[TERRITORY_ID] if TERRITORY_ID in accounts.columns else None
    after, reasons, params, name, messages = before, None, {}, "", []
    if args.scenario is not None:  # --scenario "" is an unknown scenario, not "the file's alignment"
        from territory.planning.scenarios import compare_to_dataset

        scenario = _store(args).load(args.scenario)
        assignment = aligned_assignment(scenario, accounts)
        after, reasons, params, name = assignment[TERRITORY_ID], assignment["reason"], scenario.params, scenario.name
        diff = compare_to_dataset(scenario, accounts)
        if not diff.matches:
            messages.append(diff.describe())
    if after is None:
        raise DataError("Nothing to report: the input has no territory_id column; pass --scenario NAME.")
    bookings, _ = _load_review_bookings(args)
    quotas = None
    if args.quotas:
        import pandas as pd

        from territory.planning.quotas import load_quotas

        known = territories if territories is not None else pd.DataFrame(
            {TERRITORY_ID: accounts[TERRITORY_ID].dropna().astype(str).unique()})
        loaded = load_quotas(_existing(args.quotas), territories=known)
        _note_rejected("quota file", args.quotas, loaded.report)
        quotas = loaded.quotas
    # the figures count what the scenario was balanced on (its measure, band and account types), as in the app
    basis = basis_from_params(params, Basis("workload", args.tolerance or 0.05, DEFAULT_COUNTED))
    if args.tolerance is not None:
        basis = replace(basis, tolerance=args.tolerance)
    counted = basis.mask(accounts)
    review = None
    if bookings is not None and len(bookings):
        from territory.planning.review import build_review

        review = build_review(accounts, after, bookings, territories, alignment_name=name or "current",
                              quotas=quotas, counted=counted)
    page = build_report(
        ReportInput(
            accounts=accounts[counted], labels_after=after[counted],
            labels_before=before[counted] if args.scenario else None, territories=territories, title=args.title,
            scenario_name=name, dataset_name=args.input or "built-in sample", balance_on=basis.measure,
            tolerance=basis.tolerance, params=params, messages=[*messages, *basis.notes(accounts)],
            reasons=None if reasons is None else reasons[counted], boundaries=us_states_geojson(), review=review,
            summary=args.summary,
        )
    )
    path = Path(args.output)
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as error:
        raise DataError(f"Cannot write {path}: {error.strerror or error}") from None
    print(f"Wrote the review report to {path} ({len(page) / 1e6:.1f} MB, opens offline)")
    return EXIT_OK


# --- routing new accounts and CRM write-back (docs/routing.md) --------------------------------------


def _add_alignment_options(sub: argparse.ArgumentParser) -> None:
    """Where the alignment comes from: the accounts it covers, its reps, a saved scenario."""
    sub.add_argument("--scenario", metavar="NAME",
                     help="use this saved scenario's alignment (and its saved rules); default: the accounts' own")
    sub.add_argument("--accounts", metavar="FILE",
                     help="the accounts the alignment covers (default: the built-in sample)")
    sub.add_argument("--reps", metavar="FILE", help="territories/reps file (capacity, rep names, regions)")
    sub.add_argument("--db", metavar="PATH",
                     help="scenario database (default: $TERRITORY_STUDIO_DB, else the user data directory)")


def _add_routing_parsers(commands: argparse._SubParsersAction) -> None:
    assign = commands.add_parser(
        "assign",
        help="route new accounts to territories by the routing rules",
        description=(
            "Read NEW_FILE with the same importer as `check` and route every loaded account by the rules "
            "(--rules, else the scenario's saved rules, else the default rules of the alignment). "
            "Accounts already in the alignment keep their territory."
        ),
    )
    assign.add_argument("new_file", metavar="NEW_FILE", help="CSV or XLSX file of new accounts")
    assign.add_argument("--rules", metavar="RULES.csv", help="rules file priority,kind,value,territory_id")
    assign.add_argument("--output", "-o", required=True, metavar="OUT",
                        help="write one row per routed account to OUT.csv or OUT.xlsx")
    assign.add_argument("--json", action="store_true",
                        help="print one JSON object: rows_read, assigned, rejected, by_rule")
    assign.add_argument("--no-guard", action="store_true",
                        help="switch the capacity guard off: every account goes where its rule sends it")
    _add_alignment_options(assign)
    assign.set_defaults(handler=_cmd_assign)

    rules = commands.add_parser(
        "rules",
        help="export or import the routing rules of an alignment",
        description="Write the routing rules to CSV, or check a CSV and save it with a scenario.",
    )
    actions = rules.add_subparsers(dest="action", metavar="ACTION", parser_class=_OneLineParser)
    actions.required = True
    export = actions.add_parser("export", help="write the rules (saved, else the default ones) to a CSV file")
    export.add_argument("--output", "-o", required=True, metavar="RULES.csv", help="the .csv file to write")
    _add_alignment_options(export)
    imported = actions.add_parser("import", help="check a rules CSV and save it with a scenario")
    imported.add_argument("file", metavar="RULES.csv")
    imported.add_argument("--scenario", required=True, metavar="NAME", help="the scenario to save the rules with")
    imported.add_argument("--db", metavar="PATH",
                          help="scenario database (default: $TERRITORY_STUDIO_DB, else the user data directory)")
    for sub in (export, imported):
        sub.set_defaults(handler=_cmd_rules)

    crm = commands.add_parser(
        "export-crm",
        help="write the alignment as a Salesforce territory load (zip) or a HubSpot company import (CSV)",
        description=(
            "Write the alignment (--scenario NAME, else the accounts' own) for the CRM: salesforce writes a zip "
            "for Enterprise Territory Management (Territory2, UserTerritory2Association, "
            "ObjectTerritory2Association, README.txt); hubspot writes a CSV with Record ID, Company name and "
            "Company owner."
        ),
    )
    crm.add_argument("--format", required=True, choices=("salesforce", "hubspot"), help="salesforce or hubspot")
    crm.add_argument("--changed-only", action="store_true",
                     help="only the accounts whose territory differs from the accounts file's current one")
    crm.add_argument("--output", "-o", required=True, metavar="OUT",
                     help="OUT.zip for salesforce, OUT.csv for hubspot")
    _add_alignment_options(crm)
    crm.set_defaults(handler=_cmd_export_crm)


def _alignment(args: argparse.Namespace):
    """(accounts, territories, labels, existing, params, scenario) of --accounts/--reps/--scenario."""
    from pathlib import Path

    from territory.data.schema import TERRITORY_ID
    from territory.errors import DataError

    args.input = args.accounts  # the loader of `balance` and `report`
    accounts, territories = _load_balance_input(args)
    existing, params, scenario = None, {}, None
    if args.scenario is not None:
        from territory.planning.scenarios import apply_to_dataset

        scenario = _store(args).load(args.scenario)
        labels, _ = apply_to_dataset(scenario, accounts)
        existing, params = scenario.labels(), scenario.params
    elif TERRITORY_ID in accounts.columns and accounts[TERRITORY_ID].notna().any():
        labels = accounts[TERRITORY_ID]
    else:
        where = args.accounts or "the sample"
        raise DataError(f"{Path(where).name} has no territory_id column: pass --scenario NAME for an alignment.")
    return accounts, territories, labels, existing, params, scenario


def _band(params: dict) -> tuple[object, float]:
    """The scenario's balance measure and tolerance (workload and 5% when it has none)."""
    from territory.data.measures import normalize_balance_on

    try:
        balance_on = normalize_balance_on(params.get("balance_on", "workload"))
    except TerritoryError:
        balance_on = "workload"
    tolerance = params.get("tolerance", 0.05)
    return balance_on, float(tolerance) if isinstance(tolerance, (int, float)) and 0 < tolerance < 1 else 0.05


def _routing_rules(args: argparse.Namespace, accounts, labels, territory_ids):
    """(rules, source): --rules, else the scenario's saved rules, else the alignment's defaults."""
    from territory.planning.routing import default_rules, parse_rules, read_rules_csv

    if getattr(args, "rules", None):
        return read_rules_csv(args.rules, territory_ids), "file"
    if args.scenario is not None:
        saved = _store(args).load_rules(args.scenario)
        if saved is not None:
            return parse_rules(saved, territory_ids), "scenario"
    return default_rules(accounts, labels), "default"


def _cmd_assign(args: argparse.Namespace) -> int:
    import json
    import time
    from pathlib import Path

    from territory.data.io import load_accounts
    from territory.errors import DataError
    from territory.planning.account_types import DEFAULT_COUNTED
    from territory.planning.basis import Basis, basis_from_params
    from territory.planning.routing import rejected_rows, route, routing_base

    started = time.perf_counter()
    _refuse_overwriting(args.output, args.new_file, args.accounts, args.rules, args.reps, _db_path(args))
    suffix = Path(args.output).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        from territory.errors import ParameterError

        raise ParameterError(f"--output must end in .csv or .xlsx, got {Path(args.output).name!r}")
    if not Path(args.new_file).is_file():
        raise DataError(f"Cannot read {args.new_file}: no such file.")
    accounts, territories, labels, existing, params, _ = _alignment(args)
    # new accounts add load as the scenario was balanced: its measure, band and the account types that count
    basis = basis_from_params(params, Basis(*_band(params), DEFAULT_COUNTED))
    base = routing_base(accounts, labels, territories, basis.balance_on, basis.tolerance, existing=existing,
                        counted_types=basis.counted_for(accounts))
    rules, source = _routing_rules(args, accounts, labels, base.territory_ids)
    loaded = load_accounts(args.new_file)
    routing = route(loaded.accounts, rules, base, guard=not args.no_guard)
    rejected = rejected_rows(loaded.report, routing)
    written = _write_routed(loaded.accounts, routing, Path(args.output))
    summary = {
        "rows_read": loaded.report.rows_read,
        "assigned": written,
        "rejected": rejected,
        "by_rule": routing.by_rule(),
        "rules": {"source": source, "count": len(rules)},
        "guard": not args.no_guard,
        "full_before": routing.load.loc[routing.load["full_before"], "territory_id"].tolist(),
        "output": args.output,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if args.json:
        print(json.dumps(_json_ready(summary), ensure_ascii=False))
        return EXIT_OK
    codes = routing.routed["reason_code"].value_counts()
    print(f"Routed {written:,} of {summary['rows_read']:,} rows by {len(rules):,} rules ({source}) "
          f"in {summary['seconds']:.2f} s: " + ", ".join(f"{int(n):,} {code}" for code, n in codes.items()) + ".")
    if summary["full_before"] and not args.no_guard:
        print(f"{len(summary['full_before'])} territories are above their band before any new account "
              f"({', '.join(summary['full_before'])}): the capacity guard sends their new accounts to adjacent "
              "territories with room (rebalance first, or pass --no-guard).")
    for row in rejected[:20]:
        print(f"- row {row['row']} ({row['account_id'] or 'no id'}): {row['reason']}")
    if len(rejected) > 20:
        print(f"- ... and {len(rejected) - 20:,} more rejected rows (--json lists all)")
    print(f"Wrote {written:,} rows to {args.output}")
    return EXIT_OK


def _write_routed(new: pd.DataFrame, routing, path) -> int:
    """The routed accounts (``routing.routed_table``) as formula-safe CSV or XLSX; the rows written."""
    from territory.data.spreadsheet import to_csv_bytes, to_xlsx_bytes
    from territory.errors import DataError
    from territory.planning.routing import routed_table

    table = routed_table(new, routing)
    try:
        path.write_bytes(to_csv_bytes(table) if path.suffix.lower() == ".csv" else to_xlsx_bytes({"routed": table}))
    except OSError as error:
        raise DataError(f"Cannot write {path}: {error.strerror or error}") from None
    return len(table)


def _cmd_rules(args: argparse.Namespace) -> int:
    from pathlib import Path

    from territory.errors import DataError
    from territory.planning.routing import read_rules_csv, rules_to_csv_bytes

    if args.action == "import":
        store = _store(args)
        scenario = store.load(args.scenario)
        territory_ids = scenario.assignment["territory_id"].dropna().astype(str).unique()
        if not Path(args.file).is_file():
            raise DataError(f"Cannot read {args.file}: no such file.")
        rules = read_rules_csv(args.file, territory_ids)
        store.save_rules(scenario.name, rules.to_frame())
        print(f"Saved {len(rules):,} routing rules with scenario {scenario.name!r}")
        return EXIT_OK
    _refuse_overwriting(args.output, args.accounts, args.reps, _db_path(args))
    accounts, territories, labels, existing, params, _ = _alignment(args)
    from territory.planning.routing import routing_base

    base = routing_base(accounts, labels, territories, existing=existing)
    rules, source = _routing_rules(args, accounts, labels, base.territory_ids)
    try:
        Path(args.output).write_bytes(rules_to_csv_bytes(rules))
    except OSError as error:
        raise DataError(f"Cannot write {args.output}: {error.strerror or error}") from None
    print(f"Wrote {len(rules):,} routing rules ({source}) to {args.output}")
    return EXIT_OK


def _cmd_export_crm(args: argparse.Namespace) -> int:
    from pathlib import Path

    from territory.data.schema import TERRITORY_ID
    from territory.errors import DataError, ParameterError
    from territory.reporting.crm import crm_export, read_emails

    wanted = ".zip" if args.format == "salesforce" else ".csv"
    if Path(args.output).suffix.lower() != wanted:
        raise ParameterError(f"--format {args.format} writes a {wanted} file; --output is {Path(args.output).name!r}")
    _refuse_overwriting(args.output, args.accounts, args.reps, _db_path(args))
    accounts, territories, labels, _, _, _ = _alignment(args)
    current = accounts[TERRITORY_ID] if TERRITORY_ID in accounts.columns else None
    if args.changed_only and current is None:
        raise ParameterError("--changed-only compares with the accounts' territory_id column, and there is none.")
    emails = {}
    if args.reps is not None:
        from territory.data.io import read_table

        emails = read_emails(read_table(args.reps))
    export = crm_export(accounts, labels, args.format, territories, current=current,
                        changed_only=args.changed_only, rep_emails=emails)
    try:
        Path(args.output).write_bytes(export.to_bytes())
    except OSError as error:
        raise DataError(f"Cannot write {args.output}: {error.strerror or error}") from None
    what = "changed accounts" if args.changed_only else "accounts"
    print(f"Wrote {export.accounts:,} {what} for {args.format} to {args.output}")
    return EXIT_OK


# --- geography: territory shapes and the ZIP table (docs/cli.md) ---------------------------------------


def _add_geography_parser(commands: argparse._SubParsersAction) -> None:
    geography = commands.add_parser(
        "geography",
        help="write the territories as shapes (GeoJSON, KML) or every US ZIP with its territory (CSV)",
        description="Write each territory as one (multi)polygon built from the ZIP areas its accounts are in "
                    "(OUT.geojson, OUT.kml), or every US ZIP of the offline table with its territory (OUT.csv).",
    )
    geography.add_argument("input", nargs="?", metavar="INPUT", help="CSV or XLSX accounts file (default: the sample)")
    geography.add_argument("--scenario", metavar="NAME",
                           help="use this saved scenario's alignment (default: the accounts' territory_id)")
    geography.add_argument("--reps", metavar="FILE", help="territories/reps file (rep names in the GeoJSON and KML)")
    geography.add_argument("--units", choices=UNIT_CHOICES, metavar="UNIT",
                           help="the units the alignment moves: account, zip, zip3, county or state (default: the "
                                "scenario's, else account); with a unit, accounts are placed by their ZIP code and "
                                "ZIPs without accounts take their unit's territory")
    geography.add_argument("--output", "-o", required=True, metavar="OUT",
                           help="OUT.geojson, OUT.kml or OUT.csv (the suffix picks the format)")
    geography.add_argument("--db", metavar="PATH",
                           help="scenario database (default: $TERRITORY_STUDIO_DB, else the user data directory)")
    _add_map_option(geography)
    geography.set_defaults(handler=_cmd_geography)


def _cmd_geography(args: argparse.Namespace) -> int:
    from pathlib import Path

    from territory.errors import DataError, ParameterError

    fmt = Path(args.output).suffix.lower().lstrip(".")
    if fmt not in ("geojson", "kml", "csv"):  # checked before the heavy imports: a typo answers at once
        raise ParameterError(f"--output must end in .geojson, .kml or .csv; got {Path(args.output).name!r}")
    from territory.planning.geography import territory_shapes
    from territory.planning.units import saved_units
    from territory.reporting.boundaries import BY_OWNER, geography_bytes

    _refuse_overwriting(args.output, args.input, args.reps, _db_path(args))
    args.accounts = args.input  # the loader of `assign` and `export-crm`
    accounts, territories, labels, _, params, _ = _alignment(args)
    units = args.units or saved_units(params)  # a scenario balanced by units remembers them
    shapes = territory_shapes(accounts, labels, units)
    if fmt == "csv" and shapes.zip_territory is None:
        raise DataError("No account is in the US, so there is no ZIP table to write; write OUT.geojson or OUT.kml.")
    data = geography_bytes(fmt, shapes, accounts, labels, territories)
    try:
        Path(args.output).write_bytes(data)
    except OSError as error:
        raise DataError(f"Cannot write {args.output}: {error.strerror or error}") from None
    if not shapes.geographic:  # the app offers no geography files then (boundaries.has_territory_shapes)
        print(f"warning: {BY_OWNER}, so the file gives every area to one of them and does not describe them, "
              "and a ZIP code holds accounts of several; written as asked, but the accounts' own territory_id "
              "is what assigns them.", file=sys.stderr)
    what = "ZIP codes" if fmt == "csv" else "territory shapes"
    count = (data.count(b"\n") - 1 if fmt == "csv"
             else len(shapes.territory_ids) + sum(len(team.shapes.territory_ids) for team in shapes.teams))
    print(f"Wrote {count:,} {what} to {args.output} ({len(data) / 1e6:.1f} MB); "
          f"{shapes.accounts_outside:,} of {shapes.accounts:,} accounts lie outside their territory's shape")
    return EXIT_OK


# --- review: bookings, quotas, opportunities, forecast -----------------------------------------


def _existing(path_text: str):
    from pathlib import Path

    from territory.errors import DataError

    if not Path(path_text).is_file():
        raise DataError(f"Cannot read {path_text}: no such file.")
    return Path(path_text)


def _note_rejected(what: str, path_text: str, report) -> None:
    """One line on stderr when a side file had rejected rows, with the first reason (--json keeps stdout clean)."""
    if report.rows_rejected:
        first = report.rejected[0]
        print(f"note: {what} {path_text}: {report.rows_rejected:,} of {report.rows_read:,} rows rejected "
              f"(e.g. row {first.row} {first.field}: {first.reason})", file=sys.stderr)


def _load_review_bookings(args: argparse.Namespace):
    """(bookings, opportunities): --bookings, else the closed-won of --opportunities, else the sample's
    bookings when INPUT is omitted, else None."""
    opportunities = None
    if getattr(args, "opportunities", None):
        from territory.planning.opportunities import load_opportunities

        loaded = load_opportunities(_existing(args.opportunities))
        _note_rejected("opportunity file", args.opportunities, loaded.report)
        opportunities = loaded.opportunities
    if args.bookings:
        from territory.data.io import load_bookings

        return load_bookings(_existing(args.bookings)), opportunities
    if opportunities is not None:
        from territory.planning.opportunities import bookings_or_won

        return bookings_or_won(None, opportunities)[0], opportunities
    if args.input is None:
        from territory.data.sample import load_sample

        return load_sample().bookings, None
    return None, None


# --- forecast -----------------------------------------------------------------------------------


def _add_forecast_parser(commands: argparse._SubParsersAction) -> None:
    forecast = commands.add_parser(
        "forecast",
        help="forecast next quarter's bookings per territory and region, with the backtest",
        description="Forecast next quarter's bookings per territory and region with an 80%% interval, and "
                    "backtest the forecast against last year's same quarter and the trailing 4-quarter mean.",
    )
    forecast.add_argument("input", nargs="?", metavar="INPUT",
                          help="accounts file as for `check` (default: the built-in sample)")
    forecast.add_argument("--bookings", metavar="FILE",
                          help="bookings file (account_id, quarter, amount); the sample's when INPUT is omitted")
    forecast.add_argument("--opportunities", metavar="FILE",
                          help="opportunity export: its closed-won opportunities are the bookings when --bookings "
                               "is not given")
    forecast.add_argument("--reps", metavar="FILE", help="territories/reps file (regions for the regional forecast)")
    forecast.add_argument("--json", action="store_true",
                          help="print one JSON object: forecast, regions, backtest (wape, mape, coverage per method)")
    _add_map_option(forecast)
    forecast.set_defaults(handler=_cmd_forecast)


def _usd(value) -> str:
    number = float(value)
    return f"${number:>13,.0f}" if number == number else f"{'n/a':>14}"


def _cmd_forecast(args: argparse.Namespace) -> int:
    from territory.data.schema import TERRITORY_ID
    from territory.errors import DataError
    from territory.planning.forecast import METHOD_LABELS, forecast_bookings, summary_sentence
    from territory.planning.review import bookings_by_territory

    accounts, territories = _load_balance_input(args)
    bookings, _ = _load_review_bookings(args)
    if bookings is None or len(bookings) == 0:
        raise DataError("No bookings to forecast: pass --bookings FILE (account_id, quarter, amount) or "
                        "--opportunities FILE (closed-won opportunities).")
    if TERRITORY_ID not in accounts.columns:
        raise DataError("The accounts have no territory_id column: nothing to forecast per territory.")
    by_quarter, notes = bookings_by_territory(accounts, accounts[TERRITORY_ID], bookings, territories)
    result = forecast_bookings(by_quarter, territories)
    if args.json:
        import json

        payload = result.to_dict()
        payload["notes"] = notes + payload["notes"]
        print(json.dumps(payload, ensure_ascii=False, allow_nan=False))
        return EXIT_OK
    for note in notes + list(result.notes):
        print(f"note: {note}")
    if result.quarter is None:
        return EXIT_OK
    print(f"Forecast for {result.quarter} by {METHOD_LABELS[result.method].lower()} (USD, 80% interval):")
    for _, row in result.regions.iterrows():
        print(f"  {row['region']:<24} {_usd(row['value'])}  ({_usd(row['low'])} to {_usd(row['high'])})")
    print()
    for _, row in result.territories.iterrows():
        print(f"  {row[TERRITORY_ID]:<24} {_usd(row['value'])}  ({_usd(row['low'])} to {_usd(row['high'])})")
    print()
    print(summary_sentence(result))
    for _, row in result.scores.iterrows():
        print(f"  {METHOD_LABELS[row['method']]:<40} WAPE {row['wape']:5.1f}%  MAPE {row['mape']:5.1f}%  "
              f"80% interval coverage {row['coverage']:3.0f}% ({int(row['forecasts']):,} forecasts), calibrated "
              f"{row['coverage_calibrated']:3.0f}% ({int(row['calibrated']):,})")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)  # --help can meet a closed pipe too
        code = int(args.handler(args))
        sys.stdout.flush()  # a reader that left shows here, not in Python's flush at exit
        return code
    except TerritoryError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so what is still buffered cannot fail again when Python exits."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file (captured in tests, or already closed)
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
