"""Which accounts count for balancing, and where the others go (by account type).

A CRM export mixes customers, prospects and partners. The user chooses the types that *count*
(default: customers, prospects and accounts without a type); the others are *shown apart*:

* they carry no workload, revenue or potential in the balance: the engine never sees them, and
  every balance figure (targets, deviations, scorecards, per-territory tables) counts only the
  counted accounts;
* they still get a territory, chosen after the balance: their current territory when it still
  exists after balancing, else the territory of the nearest counted account.

The engine itself is not changed: :func:`balance_by_type` filters before calling the public
:func:`territory.balance.balance` and places the shown-apart accounts after it, so the CLI
(``balance --types``) and the Rebalance page give the same alignment. Rules: docs/balancing.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from territory.balance import balance
from territory.data import schema
from territory.data.picklists import ACCOUNT_TYPES, CUSTOMER, PROSPECT
from territory.errors import ParameterError
from territory.geo import to_unit_vectors

NO_TYPE = "No type"
"""How an account without a type is named in the types choice (blank in the data)."""
DEFAULT_COUNTED: tuple[str, ...] = (CUSTOMER, PROSPECT, NO_TYPE)
"""Counted unless the user says otherwise: customers, prospects and accounts without a type (a file
without a type column balances every account, as before)."""
SHOWN_APART_REASON_KEPT = "{kind}: not counted for balancing; stays in its territory {to}"
SHOWN_APART_REASON_NEAREST = "{kind}: not counted for balancing; placed with the nearest counted account ({to})"


def type_labels(accounts: pd.DataFrame) -> pd.Series:
    """Each account's type as the types choice names it (``NO_TYPE`` when blank or no column)."""
    if schema.ACCOUNT_TYPE not in accounts:
        return pd.Series(NO_TYPE, index=accounts.index, dtype="string")
    kinds = accounts[schema.ACCOUNT_TYPE].astype("string").str.strip()
    return kinds.where(kinds.notna() & (kinds != ""), NO_TYPE).astype("string")


def type_counts(accounts: pd.DataFrame) -> pd.Series:
    """Accounts per type, the known types first in their documented order, then the rest by size.

    >>> type_counts(pd.DataFrame({"account_type": ["Partner", "Customer", None, "Partner"]})).to_dict()
    {'Customer': 1, 'Partner': 2, 'No type': 1}
    """
    counts = type_labels(accounts).value_counts()
    order = [t for t in (*ACCOUNT_TYPES, NO_TYPE) if t in counts.index]
    order += [t for t in counts.index if t not in order]
    return counts.reindex(order).astype(int)


def default_counted(available: Iterable[str]) -> list[str]:
    """The default choice among the types present: ``DEFAULT_COUNTED`` (all of them when none is present)."""
    available = list(available)
    chosen = [t for t in available if t in DEFAULT_COUNTED]
    return chosen or available


def default_counted_types(accounts: pd.DataFrame) -> tuple[str, ...] | None:
    """The types counted by default among those of ``accounts`` (None without a type column: every account).

    >>> default_counted_types(pd.DataFrame({"account_type": ["Partner", "Customer"]}))
    ('Customer',)
    """
    if schema.ACCOUNT_TYPE not in accounts:
        return None
    return tuple(default_counted(type_counts(accounts).index))


def counted_mask(accounts: pd.DataFrame, counted: Iterable[str] | None) -> np.ndarray:
    """True for the accounts whose type counts; ``counted=None`` counts every account."""
    if counted is None:
        return np.ones(len(accounts), dtype=bool)
    return type_labels(accounts).isin(list(counted)).to_numpy(dtype=bool)


def parse_types(text: str, available: Sequence[str] | None = None) -> tuple[str, ...]:
    """``--types``: a comma list of types that count ("customer, prospect"); ``all`` counts every type.

    Names are matched case-insensitively against ``ACCOUNT_TYPES``, ``NO_TYPE`` ("no type") and
    the values of the file (``available``); an unknown name raises ``ParameterError`` listing them.

    >>> parse_types("customer, Partner")
    ('Customer', 'Partner')
    """
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ParameterError("--types needs at least one account type, e.g. 'customer,prospect' or 'all'.")
    if [n.lower() for n in names] == ["all"]:
        return ("all",)
    known = {t.lower(): t for t in (*ACCOUNT_TYPES, NO_TYPE, *(available or ()))}
    unknown = [n for n in names if n.lower() not in known]
    if unknown:
        raise ParameterError(
            f"--types: {', '.join(repr(u) for u in unknown)} is not an account type; choose from "
            f"{', '.join(known.values())} or 'all' (comma-separated)."
        )
    return tuple(dict.fromkeys(known[n.lower()] for n in names))


def describe_counted(accounts: pd.DataFrame, counted: Iterable[str] | None) -> str:
    """One line saying which accounts the figures count, e.g. for a caption under a table.

    >>> frame = pd.DataFrame({"account_type": ["Customer", "Partner", "Partner"]})
    >>> describe_counted(frame, ["Customer"])
    'Figures count 1 of 3 accounts (Customer); 2 shown apart (Partner: 2) get a territory but carry no load.'
    """
    counts = type_counts(accounts)
    if counted is None or set(counts.index) <= set(counted):
        kinds = ", ".join(counts.index) if schema.ACCOUNT_TYPE in accounts else "no account types in the data"
        return f"Figures count all {len(accounts):,} accounts ({kinds})."
    chosen = [t for t in counts.index if t in set(counted)]
    apart = counts[[t not in set(counted) for t in counts.index]]
    n_counted = int(counts[chosen].sum()) if chosen else 0
    return (
        f"Figures count {n_counted:,} of {len(accounts):,} accounts ({', '.join(chosen) or 'none'}); "
        f"{int(apart.sum()):,} shown apart ({', '.join(f'{t}: {c:,}' for t, c in apart.items())}) get a territory "
        "but carry no load."
    )


def place_shown_apart(
    accounts: pd.DataFrame, mask: np.ndarray, labels: pd.Series, previous: pd.Series | None
) -> tuple[pd.Series, pd.Series]:
    """Territory and reason for every account not in ``mask`` (the shown-apart ones).

    ``labels`` holds the counted accounts' new territories (index within ``accounts.index``). A
    shown-apart account keeps ``previous`` when that territory is among the new ones and the account
    lies within its span (no farther from the centre of its counted accounts than the farthest of them:
    a territory redrawn on the map does not keep a partner across the country as an island); otherwise
    it goes to the territory of the nearest counted account (great-circle nearest, ties by position).
    Returns ``(territory, reason)`` indexed like the shown-apart accounts.
    """
    apart_index = accounts.index[~mask]
    counted_index = labels.dropna().index
    counted_labels = labels.loc[counted_index].astype("string").to_numpy()
    kinds = type_labels(accounts).loc[apart_index]
    before = (
        previous.reindex(apart_index).astype("string").str.strip()
        if previous is not None
        else pd.Series(pd.NA, index=apart_index, dtype="string")
    )
    keep = before.isin(set(counted_labels)).fillna(False).to_numpy(dtype=bool)
    apart_xyz = _unit_vectors(accounts, apart_index)
    located = np.isfinite(apart_xyz).all(axis=1)  # an account without coordinates cannot be judged: it stays
    if (keep & located).any():
        keep = keep & (~located | _within_span(apart_xyz, before.to_numpy(dtype=object),
                                               _unit_vectors(accounts, counted_index), counted_labels))
    territory = before.where(keep).astype("string")
    reason = pd.Series("", index=apart_index, dtype="string")
    reason[keep] = [SHOWN_APART_REASON_KEPT.format(kind=k, to=t) for k, t in zip(kinds[keep], territory[keep])]
    if (~keep).any():
        if len(counted_index) == 0:
            raise ParameterError("No counted account got a territory, so the shown-apart accounts have none to join.")
        tree = cKDTree(_unit_vectors(accounts, counted_index))
        _, nearest = tree.query(apart_xyz[~keep])
        chosen = counted_labels[nearest]
        territory[apart_index[~keep]] = chosen
        reason[apart_index[~keep]] = [SHOWN_APART_REASON_NEAREST.format(kind=k, to=t)
                                      for k, t in zip(kinds[~keep], chosen)]
    return territory, reason


def _unit_vectors(accounts: pd.DataFrame, index: pd.Index) -> np.ndarray:
    return to_unit_vectors(accounts.loc[index, schema.LATITUDE].to_numpy(dtype=float),
                           accounts.loc[index, schema.LONGITUDE].to_numpy(dtype=float))


def _within_span(xyz: np.ndarray, territory: np.ndarray, counted_xyz: np.ndarray, counted_territory: np.ndarray
                 ) -> np.ndarray:
    """True where the point is no farther (chord) from the centre of its territory's counted accounts
    than the farthest of them is; False for a territory without counted accounts."""
    codes, ids = pd.factorize(pd.Series(counted_territory, dtype=object))
    k = len(ids)
    sums = np.zeros((k, 3))
    np.add.at(sums, codes, counted_xyz)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    centres = np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)
    reach = np.zeros(k)
    np.maximum.at(reach, codes, np.linalg.norm(counted_xyz - centres[codes], axis=1))
    position = pd.Index(ids).get_indexer(pd.Series(territory, dtype=object))
    inside = np.zeros(len(xyz), dtype=bool)
    known = position >= 0
    distance = np.linalg.norm(xyz[known] - centres[position[known]], axis=1)
    inside[known] = distance <= reach[position[known]] * (1 + 1e-9) + 1e-12
    return inside


def balance_by_type(
    accounts: pd.DataFrame,
    params,
    territories: pd.DataFrame | None = None,
    counted: Iterable[str] | None = None,
    runner: Callable | None = None,
):
    """``balance`` on the counted accounts, then the shown-apart ones placed (see module docstring).

    Returns the engine's ``BalanceResult`` with ``assignment`` covering every account in the order
    of ``accounts`` (shown-apart rows get a reason saying where they went and why). ``runner`` is
    the engine call, ``runner(accounts, params, territories)`` (default :func:`territory.balance.balance`;
    the app passes its cached one). Raises ``ParameterError`` when no account counts.
    """
    if runner is None:
        runner = balance
    mask = counted_mask(accounts, counted)
    if mask.all():
        return runner(accounts, params, territories)
    if not mask.any():
        raise ParameterError(
            f"No account counts for balancing: the chosen types ({', '.join(counted or ()) or 'none'}) hold no "
            f"account; the data has {', '.join(type_counts(accounts).index)}."
        )
    result = runner(accounts[mask], params, territories)
    return with_shown_apart(accounts, mask, result)


def with_shown_apart(accounts: pd.DataFrame, mask: np.ndarray, result):
    """``result`` (the engine's on ``accounts[mask]``) with the shown-apart accounts placed and added."""
    counted_rows = result.assignment
    labels = counted_rows[schema.TERRITORY_ID]
    previous = accounts[schema.TERRITORY_ID] if schema.TERRITORY_ID in accounts else None
    territory, reason = place_shown_apart(accounts, mask, labels, previous)
    apart_index = accounts.index[~mask]
    before = (previous.reindex(apart_index).astype("string") if previous is not None
              else pd.Series(pd.NA, index=apart_index, dtype="string"))
    apart = pd.DataFrame({
        schema.ACCOUNT_ID: accounts.loc[apart_index, schema.ACCOUNT_ID],
        schema.TERRITORY_ID: territory,
        "previous_territory_id": before,
        "moved": (before.notna() & (before != territory)).fillna(False).to_numpy(dtype=bool),
        "reason": reason,
    }, index=apart_index)
    full = pd.concat([counted_rows, apart.astype({c: counted_rows[c].dtype for c in apart.columns
                                                   if c in counted_rows and c != "reason"})])
    full = full.reindex(accounts.index)
    return replace(result, assignment=full)
