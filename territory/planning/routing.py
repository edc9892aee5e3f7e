"""Route new accounts to territories by ordered rules, the way CRM territory tools do.

A rule set is a table ``priority, kind, value, territory_id``; rules are tried in priority order and
the first that matches wins. Kinds (docs/routing.md has examples):

* ``account``    value: an account_id (exact, case-sensitive: 18-character Salesforce IDs differ by case)
* ``domain``     value: a web domain such as ``acme.com`` (matched against a Website/Domain column)
* ``industry``   value: an industry name (case-insensitive): an industry team
* ``zip``        value: a 5-digit ZIP ``02139`` or an inclusive range ``02100-02199``
* ``zip_prefix`` value: 1 to 4 leading digits, ``021``
* ``state``      value: a two-letter state code, ``MA``
* ``size``       value: a size band alone, ``revenue >= 1000000``
* ``nearest``    value and territory blank: the territory of the nearest account already assigned

Any kind but ``nearest`` may add a size band after ``&``: ``CA & revenue >= 5000000`` or
``Healthcare & employees 100-1000`` (from 100 up to, not including, 1000).

An account already in the alignment keeps its territory (reason ``existing``). A capacity guard
then sends an account whose territory would go above its upper band to the nearest adjacent
territory with room. Every outcome is structured (``reason_code``, the rule's fields); the
``reason`` text is for people and no code reads it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from territory.data import schema as S
from territory.data.geocode import zip_table
from territory.data.io import LoadReport, accounts_from_frame
from territory.data.measures import measure_values
from territory.data.spreadsheet import escape_formulas, unescape_formulas
from territory.errors import DataError, ParameterError
from territory.geo import delaunay_neighbors, to_unit_vectors
from territory.planning.account_types import counted_mask

RULE_COLUMNS: tuple[str, ...] = ("priority", "kind", "value", S.TERRITORY_ID)
KINDS: tuple[str, ...] = ("account", "domain", "industry", "zip", "zip_prefix", "state", "size", "nearest")
SIZE_MEASURES: tuple[str, ...] = ("revenue", "company_revenue", "employees")
EXACT_KINDS: tuple[str, ...] = ("account", "domain", "industry", "state")
ZIP_KINDS: tuple[str, ...] = ("zip", "zip_prefix")
GUARDED_KINDS: frozenset[str] = frozenset({"zip", "zip_prefix", "state", "size", "nearest"})
"""Rules the capacity guard may overrule. A named account or an industry team is a decision about
who serves the account, so it is kept even over the band (reason ``over_band``)."""
KIND_WORDS: dict[str, str] = {"account": "Account", "domain": "Web domain", "industry": "Industry",
                              "zip": "ZIP or ZIP range", "zip_prefix": "ZIP prefix", "state": "State",
                              "size": "Size band", "nearest": "Nearest account", "existing": "Already assigned"}
"""A rule kind as a reader says it; the rules file keeps its own words (zip_prefix)."""
PRIORITY_STEP = 10
"""Default rules are numbered 10, 20, 30...: a rule typed in later fits between two."""

# reason codes (the ``reason_code`` column); code reads these, never the ``reason`` text
EXISTING = "existing"
MATCHED = "matched"
REDIRECTED = "redirected"
OVER_BAND = "over_band"
NO_RULE = "no_rule"
REASON_CODES: tuple[str, ...] = (EXISTING, MATCHED, REDIRECTED, OVER_BAND, NO_RULE)

RESULT_COLUMNS: tuple[str, ...] = (
    S.ACCOUNT_ID, S.TERRITORY_ID, "rule", "reason", "reason_code", "rule_priority", "rule_kind", "rule_value",
    "rule_territory_id",
)
"""Columns of :attr:`Routing.assignment`: ``rule`` is a label (``#20 zip_prefix 021``),
``rule_territory_id`` what the rule chose before the capacity guard."""

DOMAIN_COLUMNS: tuple[str, ...] = ("domain", "Website", "Company Domain Name", "Web Site", "URL", "Web Domain")
EMPLOYEE_COLUMNS: tuple[str, ...] = (
    "employees", "Number of Employees", "Employee Count", "NumberOfEmployees", "Employees (count)", "Headcount",
)
"""Extra input columns the importer keeps as they are; routing finds them by these names."""


class RuleError(ParameterError):
    """A rule set that cannot be used; ``problems`` names every row at fault."""

    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = problems
        shown = "; ".join(p.text() for p in problems[:10])
        more = f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        super().__init__(f"{len(problems)} problem(s) in the routing rules: {shown}{more}")


@dataclass(frozen=True)
class RuleProblem:
    """One problem with one rule: ``row`` is the 1-based data row of the table (header not counted)."""

    row: int
    field: str
    code: str  # bad_value, unknown_territory, unreachable, overlap, duplicate_priority
    message: str
    other_rows: tuple[int, ...] = ()  # the earlier rules that hide this one, or the range it overlaps

    def text(self, field_names: Mapping[str, str] | None = None) -> str:
        """``row 3 (territory_id): ...``; ``field_names`` gives each column as a table labels it."""
        field = (field_names or {}).get(self.field, self.field)
        return f"row {self.row} ({field}): {self.message}"


# --- size bands -------------------------------------------------------------------------------

_NUMBER = r"[0-9][0-9_,]*(?:\.[0-9]+)?(?:[eE][+]?[0-9]+)?\s*[kKmMbB]?"
_BAND_PATTERNS = (
    (re.compile(rf"(\w+)\s*>=\s*({_NUMBER})"), "low"),
    (re.compile(rf"(\w+)\s*<\s*({_NUMBER})"), "high"),
    (re.compile(rf"(\w+)\s+({_NUMBER})\s*-\s*({_NUMBER})"), "range"),
)
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9}


def _number(text: str) -> float:
    text = text.replace(",", "").replace("_", "").strip()
    scale = _SUFFIX.get(text[-1:].lower(), 1.0)
    return float(text[:-1] if scale != 1.0 else text) * scale


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class SizeBand:
    """``low <= value < high`` on revenue (ours, USD/year), company_revenue (the company's own annual
    revenue, a CRM's 'Annual Revenue') or employees; None is open-ended."""

    measure: str
    low: float | None = None
    high: float | None = None

    @staticmethod
    def parse(text: str) -> SizeBand:
        """``revenue >= 1e6``, ``revenue < 250k``, ``employees 100-1000``; ValueError otherwise.

        >>> SizeBand.parse("revenue 1M-5M")
        SizeBand(measure='revenue', low=1000000.0, high=5000000.0)
        """
        text = text.strip()
        for pattern, shape in _BAND_PATTERNS:
            match = pattern.fullmatch(text)
            if not match:
                continue
            measure = match.group(1).lower()
            if measure not in SIZE_MEASURES:
                raise ValueError(f"size band measure {match.group(1)!r} is not one of {', '.join(SIZE_MEASURES)}")
            if shape == "low":
                return SizeBand(measure, low=_number(match.group(2)))
            if shape == "high":
                return SizeBand(measure, high=_number(match.group(2)))
            low, high = _number(match.group(2)), _number(match.group(3))
            if not low < high:
                raise ValueError(f"size band {text!r} is empty: the lower bound must be below the upper one")
            return SizeBand(measure, low=low, high=high)
        raise ValueError(
            f"size band {text!r} is not readable: write 'revenue >= 1000000', 'revenue < 250000' or "
            "'employees 100-1000' (from 100 up to, not including, 1000)"
        )

    def text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.measure} {_plain(self.low)}-{_plain(self.high)}"
        if self.low is not None:
            return f"{self.measure} >= {_plain(self.low)}"
        return f"{self.measure} < {_plain(self.high)}"

    def contains(self, other: SizeBand | None) -> bool:
        """Every account in ``other`` (None: all accounts) is also in this band."""
        if other is None or other.measure != self.measure:
            return False
        low_ok = self.low is None or (other.low is not None and other.low >= self.low)
        high_ok = self.high is None or (other.high is not None and other.high <= self.high)
        return low_ok and high_ok

    def mask(self, values: np.ndarray) -> np.ndarray:
        """Accounts in the band; an account without the figure (NaN) is in no band."""
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(values)
            if self.low is not None:
                ok &= values >= self.low
            if self.high is not None:
                ok &= values < self.high
        return ok


# --- rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One parsed rule. ``key`` is the normalised match value; ``zip_low``/``zip_high`` the ZIP
    interval (as integers) of a zip or zip_prefix rule."""

    row: int
    priority: int
    kind: str
    value: str
    territory_id: str | None
    key: str = ""
    band: SizeBand | None = None
    zip_low: int = -1
    zip_high: int = -1

    @property
    def label(self) -> str:
        """``#20 zip_prefix 021``: names the rule in the rules file's own words (outputs, counts, problems)."""
        return f"#{self.priority} {self.kind} {self.value}".rstrip()

    @property
    def plain_label(self) -> str:
        """``#20 (ZIP prefix 021)``: the rule as the reasons a user reads name it."""
        return f"#{self.priority} ({KIND_WORDS.get(self.kind, self.kind)} {self.value}".rstrip() + ")"

    def band_key(self) -> str:
        return self.band.text() if self.band else ""


def normalize_domain(text: str) -> str:
    """``https://www.Acme.com/about`` -> ``acme.com``.

    >>> normalize_domain(" https://www.Acme.com/about ")
    'acme.com'
    """
    text = text.strip().lower()
    text = re.sub(r"^[a-z]+://", "", text)
    text = text.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0]
    return text[4:] if text.startswith("www.") else text


def _parse_key(kind: str, base: str) -> tuple[str, int, int]:
    """(key, zip_low, zip_high) for the match part of a rule; ValueError with a fix when unreadable."""
    if kind == "zip":
        match = re.fullmatch(r"([0-9]{5})(?:\s*-\s*([0-9]{5}))?", base)
        if not match:
            raise ValueError(f"zip {base!r} is not a 5-digit ZIP or a range such as 02100-02199")
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) else low
        if high < low:
            raise ValueError(f"zip range {base!r} runs backwards: write the lower ZIP first")
        return base, low, high
    if kind == "zip_prefix":
        if not re.fullmatch(r"[0-9]{1,4}", base):
            raise ValueError(f"zip_prefix {base!r} must be 1 to 4 digits, such as 021 (use kind zip for 5 digits)")
        width = 10 ** (5 - len(base))
        return base, int(base) * width, int(base) * width + width - 1
    if kind == "state":
        if not re.fullmatch(r"[A-Za-z]{2}", base):
            raise ValueError(f"state {base!r} must be a two-letter code such as MA")
        return base.upper(), -1, -1
    if kind == "industry":
        return base.lower(), -1, -1
    if kind == "domain":
        key = normalize_domain(base)
        if "." not in key:
            raise ValueError(f"domain {base!r} is not a web domain such as acme.com")
        return key, -1, -1
    return base, -1, -1  # account: exact


def _cell(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def _parse_row(row: int, cells: Mapping[str, Any], problems: list[RuleProblem]) -> Rule | None:
    def bad(field_name: str, message: str, code: str = "bad_value") -> None:
        problems.append(RuleProblem(row, field_name, code, message))

    priority_text, kind = _cell(cells.get("priority")), _cell(cells.get("kind")).lower()
    value, territory = _cell(cells.get("value")), _cell(cells.get(S.TERRITORY_ID))
    try:
        priority = int(float(priority_text)) if priority_text else None
        if priority is not None and float(priority_text) != priority:
            priority = None
    except ValueError:
        priority = None
    if priority is None:
        bad("priority", f"priority {priority_text!r} is not a whole number (rules are tried from the lowest up)")
    if kind not in KINDS:
        bad("kind", f"kind {kind!r} is not one of {', '.join(KINDS)}")
        return None
    if kind == "nearest":
        if value or territory:
            bad("value" if value else S.TERRITORY_ID,
                "a nearest rule takes no value and no territory: the nearest assigned account decides")
        return None if priority is None else Rule(row, priority, kind, "", None)
    base, _, band_text = value.partition("&")
    band = None
    try:
        if kind == "size":
            band = SizeBand.parse(value)
            key, low, high = "", -1, -1
        else:
            if band_text.strip():
                band = SizeBand.parse(band_text)
            if not base.strip():
                raise ValueError(f"a {kind} rule needs a value")
            key, low, high = _parse_key(kind, base.strip())
    except ValueError as error:
        bad("value", str(error))
        return None
    if not territory:
        bad(S.TERRITORY_ID, f"a {kind} rule needs a territory")
        return None
    if priority is None:
        return None
    shown = band.text() if kind == "size" else base.strip() + (f" & {band.text()}" if band else "")
    return Rule(row, priority, kind, shown, territory, key, band, low, high)


@dataclass(frozen=True)
class RuleSet:
    """Validated rules in the order they are tried (ascending priority)."""

    rules: tuple[Rule, ...]

    def to_frame(self) -> pd.DataFrame:
        """The editable table: ``priority, kind, value, territory_id`` (territory blank for nearest)."""
        return pd.DataFrame(
            {
                "priority": pd.array([r.priority for r in self.rules], dtype="Int64"),
                "kind": pd.array([r.kind for r in self.rules], dtype="string"),
                "value": pd.array([r.value for r in self.rules], dtype="string"),
                S.TERRITORY_ID: pd.array([r.territory_id or "" for r in self.rules], dtype="string"),
            }
        )

    def __len__(self) -> int:
        return len(self.rules)


def check_rules(table: pd.DataFrame, territory_ids: Iterable[str] | None = None) -> tuple[RuleSet, list[RuleProblem]]:
    """Parse and validate a rules table; returns the usable rules and every problem, row by row.

    Problems: unreadable cells, a territory not in ``territory_ids``, two rules with one priority,
    a rule no account can reach (an earlier rule catches everything it would), and ZIP ranges that
    overlap without one containing the other (which rule wins would depend on the ZIP).

    >>> table = pd.DataFrame({"priority": [10, 20], "kind": ["zip_prefix", "zip"],
    ...                       "value": ["021", "02139"], "territory_id": ["T1", "T2"]})
    >>> problem = check_rules(table, ["T1", "T2"])[1][0]
    >>> problem.row, problem.code, problem.other_rows
    (2, 'unreachable', (1,))
    >>> problem.message.split(";")[0]
    'rule #20 zip 02139 can never match: rule #10 zip_prefix 021 (row 1) catches every account it would first'
    """
    missing = [c for c in RULE_COLUMNS if c not in table.columns]
    if missing:
        raise DataError("a rules file has the column headers " + ", ".join(f'"{c}"' for c in RULE_COLUMNS)
                        + "; this one has no " + ", ".join(f'"{c}"' for c in missing))
    problems: list[RuleProblem] = []
    parsed: list[Rule] = []
    for row, cells in enumerate(table[list(RULE_COLUMNS)].to_dict("records"), start=1):
        if all(not _cell(v) for v in cells.values()):
            continue  # a blank row (the editor's new row) is not a rule
        rule = _parse_row(row, cells, problems)
        if rule is not None:
            parsed.append(rule)
    known = None if territory_ids is None else {str(t) for t in territory_ids}
    seen_priority: dict[int, int] = {}
    for rule in parsed:
        if rule.priority in seen_priority:
            problems.append(RuleProblem(rule.row, "priority", "duplicate_priority",
                                        f"priority {rule.priority} is also on row {seen_priority[rule.priority]}: "
                                        "give every rule its own priority"))
        seen_priority.setdefault(rule.priority, rule.row)
        if known is not None and rule.territory_id is not None and rule.territory_id not in known:
            problems.append(RuleProblem(rule.row, S.TERRITORY_ID, "unknown_territory",
                                        f"territory {rule.territory_id!r} is not in the alignment "
                                        f"({_few(sorted(known))})"))
    ordered = sorted(parsed, key=lambda r: (r.priority, r.row))
    problems += _reachability(ordered)
    problems.sort(key=lambda p: (p.row, p.field))
    return RuleSet(tuple(ordered)), problems


def _few(names: list[str], limit: int = 6) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _reachability(ordered: list[Rule]) -> list[RuleProblem]:
    """Unreachable rules and partly overlapping ZIP ranges (``ordered`` by priority).

    A rule is unreachable when earlier rules catch every account it would: a ``nearest`` rule (all of
    them), a ``size`` rule whose band holds its band, an earlier rule of its kind and value whose band
    holds its band, earlier ZIP rules and prefixes covering all its ZIPs, or (for a ZIP rule) earlier
    ``state`` rules of the states all its ZIPs lie in. Each problem names the rules that hide it.
    """
    problems: list[RuleProblem] = []

    def unreachable(rule: Rule, blockers: list[Rule], why: str = "") -> None:
        blockers = sorted({b.row: b for b in blockers}.values(), key=lambda b: (b.priority, b.row))
        named = ", ".join(_rule_ref(b) for b in blockers[:5]) + (
            f" and {len(blockers) - 5} more" if len(blockers) > 5 else "")
        verb = "catches" if len(blockers) == 1 else "catch"
        problems.append(RuleProblem(
            rule.row, "value", "unreachable",
            f"rule {rule.label} can never match: {why}{'rule' if len(blockers) == 1 else 'rules'} {named} "
            f"{verb} every account it would first; delete it, or give it a priority below {blockers[0].priority}",
            tuple(b.row for b in blockers)))

    catch_all: Rule | None = None
    size_rules: list[Rule] = []
    state_rules: list[Rule] = []
    exact: dict[tuple[str, str], list[Rule]] = {}
    painted: dict[str, tuple[SizeBand | None, np.ndarray, np.ndarray]] = {}  # band -> earliest priority, row per ZIP
    by_row = {rule.row: rule for rule in ordered}
    for rule in ordered:
        if catch_all is not None:
            unreachable(rule, [catch_all])
            continue
        covering = [s for s in size_rules if s.band is not None and s.band.contains(rule.band)]
        if covering:
            unreachable(rule, covering)
            continue
        if rule.kind == "nearest":
            catch_all = rule
        elif rule.kind == "size":
            size_rules.append(rule)
        elif rule.kind in EXACT_KINDS:
            earlier = exact.setdefault((rule.kind, rule.key), [])
            covering = [e for e in earlier if _holds(e.band, rule.band)]
            if covering:
                unreachable(rule, covering)
            earlier.append(rule)
            if rule.kind == "state":
                state_rules.append(rule)
        else:
            rows = _covered_by(painted, rule)
            states, by_state = _covering_states(state_rules, rule)
            if rows:
                unreachable(rule, [by_row[r] for r in rows])
            elif by_state:
                unreachable(rule, by_state, f"every known ZIP it covers is in {', '.join(states)}, and ")
            _paint(painted, rule)
    problems += _partial_overlaps([r for r in ordered if r.kind in ZIP_KINDS])
    return problems


def _rule_ref(rule: Rule) -> str:
    """``#10 state MA (row 1)``: a rule named in a message about another."""
    return f"{rule.label} (row {rule.row})"


def _holds(outer: SizeBand | None, inner: SizeBand | None) -> bool:
    """Every account in band ``inner`` (None: any) is in band ``outer`` (None: any)."""
    return outer is None or outer.contains(inner)


def _covered_by(painted: dict[str, tuple[SizeBand | None, np.ndarray, np.ndarray]], rule: Rule) -> list[int]:
    """Rows of earlier ZIP rules that together cover every ZIP of ``rule``, with bands that hold its band."""
    span = slice(rule.zip_low, rule.zip_high + 1)
    best = np.full(rule.zip_high - rule.zip_low + 1, np.iinfo(np.int64).max)
    rows = np.zeros(len(best), dtype=np.int64)
    for band, priority, row in painted.values():
        if not _holds(band, rule.band):
            continue
        earlier = priority[span] < best
        best[earlier], rows[earlier] = priority[span][earlier], row[span][earlier]
    if np.all(best < rule.priority):
        return np.unique(rows).tolist()
    return []


def _paint(painted: dict[str, tuple[SizeBand | None, np.ndarray, np.ndarray]], rule: Rule) -> None:
    if rule.band_key() not in painted:
        painted[rule.band_key()] = (rule.band, np.full(100_000, np.iinfo(np.int64).max),
                                    np.zeros(100_000, dtype=np.int64))
    _, priority, rows = painted[rule.band_key()]
    span = slice(rule.zip_low, rule.zip_high + 1)
    fresh = priority[span] == np.iinfo(np.int64).max  # rules come in priority order: the first to paint wins
    priority[span][fresh] = rule.priority
    rows[span][fresh] = rule.row


def _covering_states(state_rules: list[Rule], rule: Rule) -> tuple[list[str], list[Rule]]:
    """(states, earlier state rules) when every known ZIP of the ZIP rule ``rule`` lies in states that
    earlier ``state`` rules (with bands that hold its band) catch; else ([], []). The ZIP list is the
    offline one the importer geocodes with, and an account's state is its ZIP's unless the file says
    otherwise."""
    holding = [s for s in state_rules if _holds(s.band, rule.band)]
    if not holding:
        return [], []
    table = zip_table()
    span = slice(rule.zip_low, rule.zip_high + 1)
    states = sorted({str(v) for v in table.state[span][table.known[span]] if isinstance(v, str)})
    caught = {s.key for s in holding}
    if not states or not set(states) <= caught:
        return [], []
    return states, [s for s in holding if s.key in states]


def _partial_overlaps(zip_rules: list[Rule]) -> list[RuleProblem]:
    """ZIP intervals (with the same band) that overlap without one holding the other."""
    problems = []
    by_band: dict[str, list[Rule]] = {}
    for rule in zip_rules:
        by_band.setdefault(rule.band_key(), []).append(rule)
    for rules in by_band.values():
        open_rules: list[Rule] = []
        for rule in sorted(rules, key=lambda r: (r.zip_low, -r.zip_high, r.row)):
            while open_rules and open_rules[-1].zip_high < rule.zip_low:
                open_rules.pop()
            if open_rules and open_rules[-1].zip_high < rule.zip_high:
                other = open_rules[-1]
                rule_later = (rule.priority, rule.row) > (other.priority, other.row)
                later, earlier = (rule, other) if rule_later else (other, rule)
                low, high = max(later.zip_low, earlier.zip_low), min(later.zip_high, earlier.zip_high)
                problems.append(RuleProblem(
                    later.row, "value", "overlap",
                    f"rule {later.label} overlaps rule {_rule_ref(earlier)} in {low:05d}-{high:05d} without "
                    "either holding the other (which wins would depend on the ZIP): split the ranges so they "
                    "meet but do not overlap", (earlier.row,)))
            open_rules.append(rule)
    return problems


def parse_rules(table: pd.DataFrame, territory_ids: Iterable[str] | None = None) -> RuleSet:
    """:func:`check_rules`, raising :class:`RuleError` (naming every row at fault) on any problem."""
    rules, problems = check_rules(table, territory_ids)
    if problems:
        raise RuleError(problems)
    return rules


# --- CSV ----------------------------------------------------------------------------------------


def rules_to_csv_bytes(rules: RuleSet | pd.DataFrame) -> bytes:
    """``priority,kind,value,territory_id`` as UTF-8 CSV; text cells formula-escaped reversibly
    (:func:`territory.data.spreadsheet.escape_formulas`), so :func:`read_rules_csv` gives the same rules back."""
    frame = rules.to_frame() if isinstance(rules, RuleSet) else rules[list(RULE_COLUMNS)]
    return escape_formulas(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def read_rules_csv(data: bytes | str, territory_ids: Iterable[str] | None = None) -> RuleSet:
    """Rules from CSV bytes (or a path); every cell read as text, so ZIP prefix ``021`` stays ``021``.
    Raises DataError when the file is not a rules table and RuleError naming the rows at fault."""
    if isinstance(data, str):
        try:
            with open(data, "rb") as handle:
                data = handle.read()
        except OSError as error:
            raise DataError(f"Cannot read the rules file {data}: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError("the rules file is not UTF-8 text: save it as CSV UTF-8") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise DataError(f"the rules file is empty: it needs the header {','.join(RULE_COLUMNS)}")
    header = [c.strip().lower() for c in rows[0]]
    body = [r for r in rows[1:]]
    width = len(header)
    for number, row in enumerate(body, start=1):
        if len(row) > width and any(c.strip() for c in row[width:]):
            raise DataError(
                f"rules file row {number} has {len(row)} cells for {width} columns: quote values with commas")
    frame = pd.DataFrame([(r + [""] * width)[:width] for r in body], columns=header, dtype=object)
    return parse_rules(unescape_formulas(frame), territory_ids)


# --- default rules from an alignment -------------------------------------------------------------


def _zip_numbers(postal: pd.Series) -> np.ndarray:
    """ZIP as an integer 0..99999, -1 where the postal code is not 5 digits."""
    text = postal.astype("string").fillna("").str.strip()
    ok = text.str.fullmatch(r"[0-9]{5}").fillna(False).to_numpy(dtype=bool)
    out = np.full(len(text), -1, dtype=np.int64)
    if ok.any():
        out[ok] = text[ok].astype("int64").to_numpy()
    return out


def default_rules(accounts: pd.DataFrame, labels: Any, zip_territories: pd.DataFrame | None = None) -> RuleSet:
    """The rules an alignment implies, so a new account lands where the map draws its ZIP.

    With US accounts, the rules come from the alignment's ZIP table (every ZIP of the offline table
    with the territory whose shape holds it, :func:`territory.planning.geography.zip_territory_table`;
    pass it as ``zip_territories`` when the shapes are at hand): see :func:`rules_from_zip_table`.
    Without a US account located (data from another country, or no coordinates), they come from
    the alignment's own accounts instead: :func:`rules_from_accounts`. Either way ``nearest`` is last.
    """
    if zip_territories is None:
        zip_territories = _alignment_zip_table(accounts, labels)
    if zip_territories is None or zip_territories.empty:
        return rules_from_accounts(accounts, labels)
    return rules_from_zip_table(zip_territories)


def _alignment_zip_table(accounts: pd.DataFrame, labels: Any) -> pd.DataFrame | None:
    """The alignment's ZIP table, the one the maps' shapes are drawn from; None without coordinates."""
    if S.LATITUDE not in accounts.columns or S.LONGITUDE not in accounts.columns:
        return None
    from territory.planning.geography import territory_shapes, zip_territory_table

    label_text = pd.Series(np.asarray(labels, dtype=object), index=accounts.index)
    return zip_territory_table(territory_shapes(accounts, label_text))


def rules_from_zip_table(table: pd.DataFrame) -> RuleSet:
    """Rules that route every ZIP of ``table`` (``postal_code``, ``territory_id``) to its territory.

    One ``zip_prefix`` rule (3 digits) per prefix, to the territory that holds most of its ZIPs
    (lowest ID on ties), and before them a ``zip`` rule for every ZIP of the prefix held by another
    territory; ``nearest`` last (ZIPs the table does not know, accounts located by city). A prefix
    whose ZIPs all agree is thus one rule, and a prefix split along a border one rule plus its
    exceptions, far fewer than a rule per ZIP.

    >>> table = pd.DataFrame({"postal_code": ["02138", "02139", "02140", "10001"],
    ...                       "territory_id": ["T1", "T2", "T1", "T3"]})
    >>> for rule in rules_from_zip_table(table).rules:
    ...     print(rule.priority, rule.kind, rule.value, rule.territory_id)
    10 zip 02139 T2
    20 zip_prefix 021 T1
    30 zip_prefix 100 T3
    40 nearest  None
    """
    zips = _zip_numbers(table["postal_code"])
    territory = table[S.TERRITORY_ID].astype("string").str.strip().fillna("").to_numpy(dtype=object)
    keep = (zips >= 0) & (territory != "")
    frame = pd.DataFrame({"zip": zips[keep], "t": territory[keep]}).drop_duplicates("zip")
    frame["prefix"] = frame["zip"] // 100
    counts = frame.groupby(["prefix", "t"]).size().rename("n").reset_index()
    counts = counts.sort_values(["prefix", "n", "t"], ascending=[True, False, True]).drop_duplicates("prefix")
    majority = frame["prefix"].map(counts.set_index("prefix")["t"])
    exceptions = frame[frame["t"] != majority].sort_values("zip")
    rows = [("zip", f"{z:05d}", t) for z, t in zip(exceptions["zip"], exceptions["t"])]
    rows += [("zip_prefix", f"{p:03d}", t) for p, t in zip(counts["prefix"], counts["t"])]
    return _numbered(rows)


def rules_from_accounts(accounts: pd.DataFrame, labels: Any) -> RuleSet:
    """The rules an alignment's own accounts imply (data without US locations): a ``zip_prefix``
    rule (3 digits) where every account of the prefix is in one territory; inside a prefix the
    territories share, a ``zip`` rule per ZIP whose accounts agree or have a strict majority (more
    than half); ``nearest`` for everything else.

    >>> accounts = pd.DataFrame({"postal_code": ["02139", "02140", "10001", "10002", "10002"]})
    >>> rules_from_accounts(accounts, ["T1", "T1", "T2", "T3", "T3"]).to_frame().values.tolist()
    [[10, 'zip', '10001', 'T2'], [20, 'zip', '10002', 'T3'], [30, 'zip_prefix', '021', 'T1'], [40, 'nearest', '', '']]
    """
    label_text = pd.Series(np.asarray(labels, dtype=object), index=accounts.index).astype("string").str.strip()
    zips = _zip_numbers(accounts[S.POSTAL_CODE]) if S.POSTAL_CODE in accounts.columns else np.full(len(accounts), -1)
    keep = (zips >= 0) & label_text.fillna("").ne("").to_numpy()
    frame = pd.DataFrame({"zip": zips[keep], "t": label_text[keep].to_numpy(dtype=object)})
    frame["prefix"] = frame["zip"] // 100
    per_prefix = frame.groupby("prefix")["t"].nunique()
    whole = set(per_prefix.index[per_prefix == 1])
    rows: list[tuple[str, str, str]] = []
    mixed = frame[~frame["prefix"].isin(whole)]
    if len(mixed):
        counts = mixed.groupby(["zip", "t"]).size().rename("n").reset_index()
        counts = counts.sort_values(["zip", "n", "t"], ascending=[True, False, True])
        totals = counts.groupby("zip")["n"].transform("sum")
        top = counts[(counts["n"] * 2 > totals)]
        rows += [("zip", f"{z:05d}", t) for z, t in zip(top["zip"], top["t"])]
    firsts = frame[frame["prefix"].isin(whole)].drop_duplicates("prefix").sort_values("prefix")
    rows += [("zip_prefix", f"{p:03d}", t) for p, t in zip(firsts["prefix"], firsts["t"])]
    return _numbered(rows)


def _numbered(rows: list[tuple[str, str, str]]) -> RuleSet:
    """``(kind, value, territory)`` rows as rules numbered 10, 20, 30..., then ``nearest``."""
    rules = []
    for i, (kind, value, t) in enumerate(rows):
        key, low, high = _parse_key(kind, value)
        rules.append(Rule(i + 1, (i + 1) * PRIORITY_STEP, kind, value, str(t), key, None, low, high))
    rules.append(Rule(len(rules) + 1, (len(rules) + 1) * PRIORITY_STEP, "nearest", "", None))
    return RuleSet(tuple(rules))


# --- the alignment new accounts are routed into -------------------------------------------------


def _find_column(accounts: pd.DataFrame, names: Iterable[str]) -> str | None:
    def key(name: object) -> str:
        return re.sub(r"[^a-z0-9]", "", str(name).lower())

    present = {key(c): c for c in accounts.columns}
    for name in names:
        if key(name) in present:
            return present[key(name)]
    return None


@dataclass
class RoutingBase:
    """Everything routing needs from the existing alignment, built once (:func:`routing_base`)."""

    territory_ids: tuple[str, ...]
    existing: pd.Series  # account_id -> territory_id of every account already aligned
    load: np.ndarray  # per territory, on the balance measure, of the aligned accounts
    share: np.ndarray  # capacity share per territory (sums to 1)
    balance_on: Any
    tolerance: float
    lat: np.ndarray = field(repr=False)
    lon: np.ndarray = field(repr=False)
    codes: np.ndarray = field(repr=False)  # territory position of each located, aligned account
    counted_types: tuple[str, ...] | None = None  # account types that carry load (None: every account)

    @cached_property
    def tree(self) -> Any:
        """KD-tree over the aligned accounts' unit vectors (nearest rule)."""
        from scipy.spatial import cKDTree


        return cKDTree(to_unit_vectors(self.lat, self.lon))

    @cached_property
    def centres(self) -> np.ndarray:
        """(k, 3) mean unit vector of each territory's accounts; NaN for a territory without any."""
        xyz = to_unit_vectors(self.lat, self.lon)
        k = len(self.territory_ids)
        sums = np.zeros((k, 3))
        np.add.at(sums, self.codes, xyz)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return sums / norms

    @cached_property
    def adjacent(self) -> list[set[int]]:
        """Territories that border each territory: joined by an edge of the accounts' Delaunay graph."""
        k = len(self.territory_ids)
        out: list[set[int]] = [set() for _ in range(k)]
        if len(self.codes) < 3:
            return out
        graph = delaunay_neighbors(self.lat, self.lon).tocoo()
        a, b = self.codes[graph.row], self.codes[graph.col]
        for i, j in set(zip(a[a != b].tolist(), b[a != b].tolist())):
            out[i].add(j)
        return out


def routing_base(
    accounts: pd.DataFrame,
    labels: Any,
    territories: pd.DataFrame | None = None,
    balance_on: Any = "workload",
    tolerance: float = 0.05,
    existing: pd.Series | None = None,
    counted_types: Sequence[str] | None = None,
) -> RoutingBase:
    """The alignment (``labels``, one per account) new accounts join, and its band.

    ``existing`` (account_id -> territory) lists the accounts that keep their territory; by default
    the aligned accounts themselves (a scenario passes its own assignment). Territories are those
    of ``territories`` and of the labels; capacity shares come from ``capacity_fte`` (1.0 default).
    ``counted_types``: the account types that carry load, as the alignment was balanced (partners
    shown apart add none); None counts every account.
    """
    if not 0 < float(tolerance) < 1:
        raise ParameterError(f"tolerance must be between 0 and 1 (0.05 means +/-5%), got {tolerance}")
    label_text = pd.Series(np.asarray(labels, dtype=object), index=accounts.index).astype("string").str.strip()
    label_text = label_text.mask(label_text == "")
    ids = set(label_text.dropna().unique().tolist())
    capacity: dict[str, float] = {}
    if territories is not None and len(territories):
        ids |= set(territories[S.TERRITORY_ID].astype(str))
        if S.CAPACITY_FTE in territories.columns:
            fte = pd.to_numeric(territories[S.CAPACITY_FTE], errors="coerce")
            capacity = dict(zip(territories[S.TERRITORY_ID].astype(str), fte.fillna(S.DEFAULT_CAPACITY_FTE)))
    territory_ids = tuple(sorted(ids))
    if not territory_ids:
        raise ParameterError("the alignment has no territories: assign accounts or give a territories table first")
    fte = np.array([float(capacity.get(t, S.DEFAULT_CAPACITY_FTE)) for t in territory_ids])
    share = fte / fte.sum() if fte.sum() > 0 else np.full(len(fte), 1.0 / len(fte))
    position = pd.Series(np.arange(len(territory_ids)), index=pd.Index(territory_ids))
    codes = label_text.map(position).fillna(-1).to_numpy(dtype=np.int64)
    counted_types = None if counted_types is None else tuple(counted_types)
    values = _counted_values(accounts, balance_on, counted_types, fallback_to_all=True)
    load = np.bincount(codes[codes >= 0], weights=values[codes >= 0], minlength=len(territory_ids))
    lat = pd.to_numeric(accounts.get(S.LATITUDE, pd.Series(np.nan, index=accounts.index)), errors="coerce")
    lon = pd.to_numeric(accounts.get(S.LONGITUDE, pd.Series(np.nan, index=accounts.index)), errors="coerce")
    placed = (codes >= 0) & np.isfinite(lat.to_numpy(dtype=float)) & np.isfinite(lon.to_numpy(dtype=float))
    if existing is None:
        aligned = codes >= 0
        existing = pd.Series(label_text[aligned].to_numpy(dtype=object),
                             index=accounts.loc[aligned, S.ACCOUNT_ID].astype(str).to_numpy())
    existing = existing.dropna().astype(str)
    existing = existing[~existing.index.duplicated()]
    return RoutingBase(
        territory_ids=territory_ids, existing=existing, load=load, share=share, balance_on=balance_on,
        tolerance=float(tolerance), lat=lat.to_numpy(dtype=float)[placed], lon=lon.to_numpy(dtype=float)[placed],
        codes=codes[placed], counted_types=counted_types,
    )


def _counted_values(frame: pd.DataFrame, balance_on: Any, counted_types: tuple[str, ...] | None,
                    fallback_to_all: bool) -> np.ndarray:
    """The balance measure per account, 0 for a type that is not counted. Accounts without a type
    column all count; ``fallback_to_all``: so do the aligned accounts when none has a counted type
    (a scenario made on another file), as the other pages count them."""
    values = measure_values(frame, balance_on) if len(frame) else np.zeros(0)
    if counted_types is None or S.ACCOUNT_TYPE not in frame.columns or not len(frame):
        return values
    counted = counted_mask(frame, counted_types)
    if fallback_to_all and not counted.any():
        return values
    return np.where(counted, values, 0.0)


# --- routing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Routing:
    """Where each new account lands (``assignment``, input order, ``RESULT_COLUMNS`` then nothing
    else) and the load it adds per territory against the band (``load``)."""

    assignment: pd.DataFrame
    load: pd.DataFrame

    @property
    def routed(self) -> pd.DataFrame:
        """Rows that got a territory (every reason but ``no_rule``)."""
        return self.assignment[self.assignment["reason_code"] != NO_RULE]

    def by_rule(self) -> dict[str, int]:
        """Accounts per rule label (``existing`` for accounts kept), in rule order."""
        routed = self.routed
        counts = routed.groupby("rule", sort=False).size()
        order = routed.drop_duplicates("rule").sort_values("rule_priority", na_position="first")["rule"]
        return {str(rule): int(counts[rule]) for rule in order}


OUTPUT_COLUMNS: tuple[str, ...] = (S.ACCOUNT_ID, S.TERRITORY_ID, "rule", "reason", "reason_code", "rule_territory_id")
"""The lead columns of :func:`routed_table` (what ``assign`` writes)."""


def routed_table(new: pd.DataFrame, routing: Routing) -> pd.DataFrame:
    """One row per routed account: ``OUTPUT_COLUMNS``, then every input column of ``new``. An input
    column whose name a result column has (``territory_id``, ``reason``...) is kept as ``NAME_input``,
    never dropped. Accounts no rule matched are left out (they are rejected rows).

    >>> new = pd.DataFrame({"account_id": ["N1"], "territory_id": ["T9"], "reason": ["web lead"]})
    >>> rules = RuleSet((Rule(1, 1, "account", "N1", "T1", "N1"),))
    >>> base = routing_base(pd.DataFrame({"account_id": ["A1"]}), ["T1"], balance_on="accounts")
    >>> routed_table(new, route(new, rules, base)).columns.tolist()[5:]
    ['rule_territory_id', 'territory_id_input', 'reason_input']
    """
    rest = new.drop(columns=[S.ACCOUNT_ID])
    rest = rest.rename(columns={c: f"{c}_input" for c in rest.columns if c in RESULT_COLUMNS})
    table = pd.concat([routing.assignment[list(OUTPUT_COLUMNS)], rest.set_axis(routing.assignment.index)], axis=1)
    return table[(routing.assignment["reason_code"] != NO_RULE).to_numpy()].reset_index(drop=True)


def rejected_rows(report: LoadReport, routing: Routing) -> list[dict[str, Any]]:
    """Every input row that was not routed, by row: those the importer rejected and the accounts no
    rule matched, each ``{row, account_id, reason}`` (``row`` 1-based in the file, header not counted).
    With the routed accounts they make up the file: ``report.rows_read == len(routing.routed) +
    len(rejected_rows(report, routing))``."""
    rejected = np.zeros(report.rows_read + 1, dtype=bool)
    rejected[[issue.row for issue in report.rejected]] = True
    rows = np.flatnonzero(~rejected[1:]) + 1  # the importer keeps the rows it loads in order
    unrouted = routing.assignment.index[routing.assignment["reason_code"] == NO_RULE]
    out = [{"row": issue.row, "account_id": issue.account_id, "reason": issue.reason} for issue in report.rejected]
    out += [{"row": int(rows[i]), "account_id": str(routing.assignment.at[i, S.ACCOUNT_ID]),
             "reason": str(routing.assignment.at[i, "reason"])} for i in unrouted]
    return sorted(out, key=lambda r: r["row"])


def _measure_of_new(new: pd.DataFrame, base: RoutingBase) -> np.ndarray:
    return _counted_values(new, base.balance_on, base.counted_types, fallback_to_all=False)


def _match_rules(columns: dict[str, Any], rules: RuleSet) -> np.ndarray:
    """Index into ``rules.rules`` of the first rule each account (``_match_columns``) matches (-1: none).

    Consecutive rules of one kind and band form a block that is looked up at once (a dense ZIP
    array, a dict of values), so thousands of ZIP rules cost about what one does.
    """
    chosen = np.full(len(columns["zip"]), -1, dtype=np.int64)
    start = 0
    rules_list = rules.rules
    while start < len(rules_list):
        first = rules_list[start]
        stop = start + 1
        while (stop < len(rules_list) and rules_list[stop].kind == first.kind
               and rules_list[stop].band_key() == first.band_key() and first.kind not in ("size", "nearest")):
            stop += 1
        open_rows = chosen < 0
        if not open_rows.any():
            break
        hit = _block_hits(rules_list, start, stop, columns)
        if first.band is not None:
            hit = np.where(first.band.mask(columns[first.band.measure]), hit, -1)
        take = open_rows & (hit >= 0)
        chosen[take] = hit[take]
        start = stop
    return chosen


def _match_columns(new: pd.DataFrame) -> dict[str, Any]:
    def text(column: str | None) -> pd.Series:
        if column is None or column not in new.columns:
            return pd.Series("", index=new.index, dtype="string")
        return new[column].astype("string").fillna("").str.strip()

    def numbers(column: str | None) -> np.ndarray:
        if column is None or column not in new.columns:
            return np.full(len(new), np.nan)
        if pd.api.types.is_numeric_dtype(new[column]):
            return pd.to_numeric(new[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        cleaned = text(column).str.replace(r"[,$_\s]", "", regex=True)
        return pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    domain_column = _find_column(new, DOMAIN_COLUMNS)
    return {
        "account": text(S.ACCOUNT_ID),
        "domain": text(domain_column).map(normalize_domain) if domain_column else text(None),
        "industry": text(S.INDUSTRY).str.lower(),
        "state": text(S.STATE).str.upper(),
        "zip": _zip_numbers(text(S.POSTAL_CODE)),
        "revenue": numbers(S.REVENUE),
        "company_revenue": numbers(S.COMPANY_REVENUE),
        "employees": numbers(_find_column(new, EMPLOYEE_COLUMNS)),
        "lat": numbers(S.LATITUDE),
        "lon": numbers(S.LONGITUDE),
    }


def _block_hits(rules: tuple[Rule, ...], start: int, stop: int, columns: dict[str, Any]) -> np.ndarray:
    """Per account, the index of the first rule of ``rules[start:stop]`` (one kind) it matches, else -1."""
    kind = rules[start].kind
    n = len(columns["zip"])
    if kind == "size":
        return np.full(n, start, dtype=np.int64)
    if kind == "nearest":
        return np.where(np.isfinite(columns["lat"]) & np.isfinite(columns["lon"]), start, -1)
    if kind in ZIP_KINDS:
        slots = np.full(100_001, -1, dtype=np.int64)  # the last slot answers ZIP -1 (none)
        for index in range(stop - 1, start - 1, -1):  # earlier rules paint over later ones
            slots[rules[index].zip_low:rules[index].zip_high + 1] = index
        return slots[columns["zip"]]
    lookup: dict[str, int] = {}
    for index in range(start, stop):
        lookup.setdefault(rules[index].key, index)
    values = columns[kind]
    codes, uniques = pd.factorize(values)
    per_unique = np.array([lookup.get(str(u), -1) for u in uniques] + [-1], dtype=np.int64)
    return per_unique[np.where(codes >= 0, codes, len(uniques))]


def _nearest_codes(columns: dict[str, Any], rows: np.ndarray, base: RoutingBase) -> np.ndarray:
    """Territory position of the nearest aligned account to each of ``rows`` (-1 when none is aligned)."""
    if len(base.codes) == 0 or not len(rows):
        return np.full(len(rows), -1, dtype=np.int64)

    _, nearest = base.tree.query(to_unit_vectors(columns["lat"][rows], columns["lon"][rows]))
    return base.codes[np.asarray(nearest, dtype=np.int64)]


def route(new: pd.DataFrame, rules: RuleSet, base: RoutingBase, guard: bool = True) -> Routing:
    """Route ``new`` (canonical accounts, as the importer loads them) by ``rules`` into ``base``.

    Deterministic: the capacity guard fills territories in account_id order, so the same accounts
    land in the same territories whatever order the file lists them in. ``guard=False`` switches the
    guard off: every account goes where its rule sends it, whatever the band.
    """
    n = len(new)
    position = {t: i for i, t in enumerate(base.territory_ids)}
    ids = new[S.ACCOUNT_ID].astype(str).to_numpy(dtype=object) if n else np.zeros(0, dtype=object)
    kept = pd.Series(ids).map(base.existing).to_numpy(dtype=object) if n else np.zeros(0, dtype=object)
    is_existing = pd.notna(kept)
    columns = _match_columns(new)
    chosen = _match_rules(columns, rules)
    chosen[is_existing] = -1
    rule_tid = np.array([position.get(r.territory_id, -1) if r.territory_id else -1 for r in rules.rules] + [-1])
    pick = np.where(chosen >= 0, chosen, len(rules.rules))
    target = rule_tid[pick]
    kinds = np.array([r.kind for r in rules.rules] + [""], dtype=object)[pick]
    near = np.flatnonzero(kinds == "nearest")
    target[near] = _nearest_codes(columns, near, base)
    no_rule = ~is_existing & (target < 0)
    chosen[no_rule & (chosen >= 0)] = -1  # a nearest rule with no aligned account to be near

    values = _measure_of_new(new, base)
    routed_new = ~is_existing & ~no_rule
    total_after = base.load.sum() + values[routed_new].sum()
    upper = total_after * base.share * (1 + base.tolerance)
    if guard:
        final, code, _ = _guard(target, routed_new, kinds, values, upper, base, columns)
    else:
        final, code = target.copy(), np.full(n, MATCHED, dtype=object)

    existing_codes = pd.Series(kept[is_existing]).map(position).fillna(-1).to_numpy(dtype=np.int64)
    final[is_existing] = existing_codes
    code[is_existing] = EXISTING
    code[no_rule] = NO_RULE
    assignment = _assignment_frame(ids, kept, is_existing, chosen, target, final, code, rules, base, upper)
    return Routing(assignment=assignment, load=_load_table(base, final, routed_new, values, total_after))


def _guard(target: np.ndarray, routed_new: np.ndarray, kinds: np.ndarray, values: np.ndarray, upper: np.ndarray,
           base: RoutingBase, columns: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The capacity guard: accounts join in account_id order; one that would lift a territory above
    its upper band goes to the adjacent territory with room whose centre is nearest, else stays
    (``over_band``). Returns (territory position, reason code, the other territory or -1)."""
    n = len(target)
    final = target.copy()
    code = np.full(n, MATCHED, dtype=object)
    other = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(routed_new)
    load = base.load.astype(float).copy()
    added = np.bincount(target[rows], weights=values[rows], minlength=len(load))
    if np.all(load + added <= upper + 1e-9):
        return final, code, other  # nothing goes over: no need to walk account by account

    order = rows[np.argsort(columns["account"].to_numpy(dtype=object)[rows], kind="stable")]
    xyz = to_unit_vectors(columns["lat"], columns["lon"])
    centres = base.centres
    for i in order.tolist():
        t, v = int(target[i]), float(values[i])
        if load[t] + v <= upper[t] + 1e-9:
            load[t] += v
            continue
        if kinds[i] in GUARDED_KINDS:
            room = [j for j in base.adjacent[t] if load[j] + v <= upper[j] + 1e-9]
            if room:
                closeness = [float(np.nan_to_num(centres[j] @ xyz[i], nan=-2.0)) for j in room]
                best = room[int(np.argmax(np.asarray(closeness) - 1e-12 * np.asarray(room)))]
                final[i], code[i], other[i] = best, REDIRECTED, best
                load[best] += v
                continue
        code[i] = OVER_BAND
        load[t] += v
    return final, code, other


def _full_before(base: RoutingBase, upper: np.ndarray) -> dict[int, float]:
    """{territory position: % above target} of the territories above their upper band before any new
    account (the alignment itself is out of balance there): the guard sends all their new accounts on."""
    target = upper / (1 + base.tolerance)
    over = np.flatnonzero(base.load > upper + 1e-9)
    return {int(t): float((base.load[t] / target[t] - 1) * 100) for t in over if target[t] > 0}


def _assignment_frame(ids, kept, is_existing, chosen, target, final, code, rules, base, upper) -> pd.DataFrame:
    n = len(ids)
    names = np.array(list(base.territory_ids) + [None], dtype=object)
    fallback = len(base.territory_ids)
    rule_of = [rules.rules[c] if c >= 0 else None for c in chosen.tolist()]
    label = np.array(["existing" if is_existing[i] else (r.label if r else "") for i, r in enumerate(rule_of)],
                     dtype=object)
    reasons = []
    full = _full_before(base, upper)
    for i, r in enumerate(rule_of):
        wanted = int(target[i])
        reasons.append(_reason_text(code[i], r, names[wanted] if wanted >= 0 else None,
                                    names[final[i]] if final[i] >= 0 else None, kept[i], base.tolerance,
                                    full.get(wanted)))
    frame = pd.DataFrame(
        {
            S.ACCOUNT_ID: pd.array(ids, dtype="string"),
            S.TERRITORY_ID: pd.array(names[np.where(final >= 0, final, fallback)], dtype="string"),
            "rule": pd.array(label, dtype="string"),
            "reason": pd.array(reasons, dtype="string"),
            "reason_code": pd.array(code, dtype="string"),
            "rule_priority": pd.array([r.priority if r else None for r in rule_of], dtype="Int64"),
            "rule_kind": pd.array(["existing" if is_existing[i] else (r.kind if r else None)
                                   for i, r in enumerate(rule_of)], dtype="string"),
            "rule_value": pd.array([r.value if r else None for r in rule_of], dtype="string"),
            "rule_territory_id": pd.array(names[np.where(target >= 0, target, fallback)], dtype="string"),
        },
        index=pd.RangeIndex(n),
    )
    frame.loc[is_existing, "rule_territory_id"] = frame.loc[is_existing, S.TERRITORY_ID]
    return frame


def _reason_text(code: str, rule: Rule | None, wanted: str | None, landed: str | None, kept: Any,
                 tolerance: float, full_pct: float | None = None) -> str:
    if code == EXISTING:
        return f"account already in the alignment: keeps {kept}"
    if code == NO_RULE:
        return "no rule matched (no location for the nearest rule, or the rules end without one): add a rule"
    if rule is not None and rule.kind == "nearest":
        said = f"rule {rule.plain_label}: the nearest assigned account is in {wanted}"
    else:
        said = f"rule {rule.plain_label} -> {wanted}" if rule is not None else f"-> {wanted}"
    if code == MATCHED:
        return said
    band = f"{tolerance:.0%}"
    if full_pct is not None:
        over = f"{wanted} is above its band before any new account ({full_pct:.0f}% above target, band +{band})"
    else:
        over = f"{wanted} would go above its upper band (target +{band})"
    if code == REDIRECTED:
        return f"{said}, but {over}: sent to {landed}, the nearest adjacent territory with room"
    if rule is not None and rule.kind not in GUARDED_KINDS:
        words = KIND_WORDS.get(rule.kind, rule.kind)
        words = words if words.startswith("ZIP") else words.lower()
        return f"{said}; {over}, kept: {'an' if words[0] in 'aeiou' else 'a'} {words} rule is not redirected"
    return f"{said}; {over} and no adjacent territory has room: kept"


def _load_table(base: RoutingBase, final: np.ndarray, routed_new: np.ndarray, values: np.ndarray,
                total_after: float) -> pd.DataFrame:
    """Per territory: load before, load the new accounts add, load after, and the band after."""
    k = len(base.territory_ids)
    rows = routed_new & (final >= 0)
    added = np.bincount(final[rows], weights=values[rows], minlength=k)[:k]
    count = np.bincount(final[rows], minlength=k)[:k]
    target = total_after * base.share
    after = base.load + added
    with np.errstate(invalid="ignore", divide="ignore"):
        deviation = np.where(target > 0, (after / target - 1) * 100, np.nan)
    return pd.DataFrame(
        {
            S.TERRITORY_ID: pd.array(base.territory_ids, dtype="string"),
            "new_accounts": count.astype(np.int64),
            "load_before": base.load,
            "load_added": added,
            "load_after": after,
            "target": target,
            "lower": target * (1 - base.tolerance),
            "upper": target * (1 + base.tolerance),
            "deviation_pct": deviation,
            "within_band": (after >= target * (1 - base.tolerance) - 1e-9)
            & (after <= target * (1 + base.tolerance) + 1e-9),
            "full_before": base.load > target * (1 + base.tolerance) + 1e-9,
        }
    )


# --- one account: the "where would this account land?" tester -----------------------------------


def where_would_it_land(
    base: RoutingBase,
    rules: RuleSet,
    postal_code: str = "",
    state: str = "",
    industry: str = "",
    revenue: float | None = None,
    employees: float | None = None,
    account_id: str = "(test account)",
    domain: str = "",
) -> pd.Series:
    """Route one made-up account (read by the same importer as a file: ZIP repair, geocoding,
    derived workload) and return its row of :attr:`Routing.assignment`.

    Raises DataError with the importer's reason when the account cannot be placed (no known ZIP).
    """
    raw = pd.DataFrame(
        {
            "account_id": [account_id],
            "postal_code": [str(postal_code or "").strip()],
            "state": [str(state or "").strip()],
            "industry": [str(industry or "").strip()],
            "revenue": ["" if revenue is None else str(revenue)],
            "employees": ["" if employees is None else str(employees)],
            "domain": [str(domain or "").strip()],
        }
    )
    loaded = accounts_from_frame(raw)
    if loaded.report.rows_rejected:
        raise DataError(loaded.report.rejected[0].reason)
    return route(loaded.accounts, rules, base).assignment.iloc[0]
