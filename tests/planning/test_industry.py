"""Industry teams overlaid on geographic territories, industry mix and concentration."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from territory.balance import BalanceParams, balance
from territory.errors import ParameterError
from territory.planning.industry import (
    allocate_team_territories,
    balance_with_teams,
    industry_concentration,
    industry_mix,
    team_prefix,
)


def clustered_accounts(n_per_cluster: int = 30, healthcare_every: int = 4, seed: int = 0) -> pd.DataFrame:
    """Three metro clusters; every 4th account is Healthcare (25% of accounts and of workload)."""
    rng = np.random.default_rng(seed)
    centres = [(40.7, -74.0), (41.9, -87.6), (34.0, -118.2)]
    records = []
    for lat, lon in centres:
        for _ in range(n_per_cluster):
            records.append({"latitude": lat + rng.normal(0, 0.2), "longitude": lon + rng.normal(0, 0.2)})
    frame = pd.DataFrame(records)
    n = len(frame)
    frame.insert(0, "account_id", [f"A{i:03d}" for i in range(n)])
    frame["industry"] = ["Healthcare" if i % healthcare_every == 0 else ("Retail", "Energy")[i % 2] for i in range(n)]
    frame["workload_hours"] = 10.0
    frame["revenue"] = 1000.0
    frame["potential"] = 2500.0
    return frame


def test_team_prefix_known_and_unknown_industries():
    assert team_prefix("Healthcare") == "HC"
    assert team_prefix("Financial Services") == "FS"
    assert team_prefix("Oil and Gas") == "OAG"
    assert team_prefix("Mining") == "MIN"


def test_allocation_follows_share_of_the_measure():
    assert allocate_team_territories({"Healthcare": 20.0, "Geographic": 80.0}, 10) == {
        "Healthcare": 2,
        "Geographic": 8,
    }
    # a tiny team still gets its own territory
    assert allocate_team_territories({"Energy": 1.0, "Geographic": 99.0}, 5) == {"Energy": 1, "Geographic": 4}


def test_allocation_respects_fixed_sizes_and_rejects_too_few_territories():
    assert allocate_team_territories({"Healthcare": 20.0, "Geographic": 80.0}, 10, {"Healthcare": 4}) == {
        "Healthcare": 4,
        "Geographic": 6,
    }
    with pytest.raises(ParameterError, match="at least 3 territories"):
        allocate_team_territories({"Healthcare": 1.0, "Energy": 1.0, "Geographic": 1.0}, 2)


def test_team_accounts_go_only_to_team_territories():
    accounts = clustered_accounts()
    params = BalanceParams(n_territories=4, industry_teams=("Healthcare",), seed=0)
    result = balance_with_teams(accounts, params)
    labels = result.assignment["territory_id"].astype(str)
    is_hc = (accounts["industry"] == "Healthcare").to_numpy()

    assert set(labels[is_hc]) == {"HC-1"}  # 25% of workload x 4 territories = 1 team territory
    assert not labels[~is_hc].str.startswith("HC-").any()
    assert labels[~is_hc].nunique() == 3
    assert result.feasible
    assert any(message.startswith("Healthcare team: 1 territory (HC-1)") for message in result.messages)
    assert set(result.territories["territory_id"]) == set(labels)
    assert set(result.centers["territory_id"]) == set(labels)


def test_team_sizes_can_be_fixed_and_teams_are_balanced_among_themselves():
    accounts = clustered_accounts()
    params = BalanceParams(
        n_territories=5, industry_teams=("Healthcare",), industry_team_sizes=(("Healthcare", 2),), seed=0
    )
    result = balance_with_teams(accounts, params)
    labels = result.assignment["territory_id"].astype(str)
    hc_loads = accounts["workload_hours"].groupby(labels).sum().filter(like="HC-")
    assert sorted(hc_loads.index) == ["HC-1", "HC-2"]
    assert hc_loads.max() / hc_loads.mean() - 1 <= 0.05 + 1e-9  # 23 accounts split 12 / 11 at most


def test_balance_dispatches_industry_teams_to_the_same_result():
    accounts = clustered_accounts()
    params = BalanceParams(n_territories=4, industry_teams=("Healthcare",), seed=3)
    via_balance = balance(accounts, params).assignment
    direct = balance_with_teams(accounts, params).assignment
    pd.testing.assert_frame_equal(via_balance, direct)


def test_moving_into_a_team_is_explained_and_team_ids_survive_a_rerun():
    accounts = clustered_accounts()
    accounts["territory_id"] = np.where(
        accounts["longitude"] > -80, "T1", np.where(accounts["longitude"] > -100, "T2", "T3")
    )
    params = BalanceParams(n_territories=4, industry_teams=("Healthcare",), seed=0)
    first = balance_with_teams(accounts, params)
    moved_hc = first.assignment[first.assignment["moved"] & (accounts["industry"] == "Healthcare")]
    assert len(moved_hc) == int((accounts["industry"] == "Healthcare").sum())
    assert (moved_hc["reason"] == "Healthcare accounts go to the Healthcare specialist team (HC-1)").all()

    again = accounts.assign(territory_id=first.assignment["territory_id"].to_numpy())
    second = balance_with_teams(again, replace(params, stability=1.0))
    assert set(second.assignment["territory_id"].astype(str)) == set(first.assignment["territory_id"].astype(str))
    assert not second.assignment.loc[accounts["industry"] == "Healthcare", "moved"].any()


def test_unknown_team_industry_is_a_clear_error():
    accounts = clustered_accounts()
    with pytest.raises(ParameterError, match="No accounts in industry 'Mining'"):
        balance_with_teams(accounts, BalanceParams(n_territories=4, industry_teams=("Mining",)))
    with pytest.raises(ParameterError, match="not among industry_teams"):
        balance_with_teams(
            accounts,
            BalanceParams(n_territories=4, industry_teams=("Healthcare",), industry_team_sizes=(("Energy", 1),)),
        )


def test_industry_mix_rows_sum_to_one_and_concentration_is_hhi():
    accounts = pd.DataFrame(
        {
            "industry": ["Retail", "Retail", "Energy", "Retail", "Energy", "Energy", "Energy"],
            "workload_hours": [1.0, 1.0, 2.0, 3.0, 1.0, 1.0, 1.0],
        }
    )
    labels = pd.Series(["T1", "T1", "T1", "T2", "T3", "T3", "T3"])
    mix = industry_mix(accounts, labels)
    assert mix.loc["T1"].to_dict() == {"Energy": 0.5, "Retail": 0.5}
    np.testing.assert_allclose(mix.sum(axis=1), 1.0)

    scores = industry_concentration(accounts, labels).set_index("territory_id")
    assert scores.loc["T1", "industry_hhi"] == pytest.approx(0.5)
    assert scores.loc["T2", "top_industry"] == "Retail"
    assert scores.loc["T3", "industry_hhi"] == pytest.approx(1.0)
    assert scores.loc["T3", "top_industry_share"] == pytest.approx(1.0)
    # weighted by account count instead of workload: T1 is 2 Retail vs 1 Energy
    by_count = industry_concentration(accounts, labels, value="accounts").set_index("territory_id")
    assert by_count.loc["T1", "top_industry_share"] == pytest.approx(2 / 3)


def test_locked_team_industry_accounts_stay_with_their_geographic_territory():
    accounts = clustered_accounts()
    accounts["territory_id"] = np.where(
        accounts["longitude"] > -80, "T1", np.where(accounts["longitude"] > -100, "T2", "T3")
    )
    accounts["locked"] = False
    locked_hc = accounts.index[accounts["industry"] == "Healthcare"][:2]
    accounts.loc[locked_hc, "locked"] = True
    result = balance_with_teams(accounts, BalanceParams(n_territories=4, industry_teams=("Healthcare",)))
    labels = result.assignment["territory_id"]
    assert (labels[locked_hc] == accounts.loc[locked_hc, "territory_id"]).all()
    assert not result.assignment.loc[locked_hc, "moved"].any()
    assert any("2 locked Healthcare account(s) stay" in message for message in result.messages)


def test_allocation_gives_each_group_its_locked_territories():
    sizes = allocate_team_territories({"Healthcare": 50.0, "Geographic": 50.0}, 6, minimum={"Geographic": 5})
    assert sizes == {"Healthcare": 1, "Geographic": 5}
    with pytest.raises(ParameterError, match="locked"):
        allocate_team_territories({"Healthcare": 50.0, "Geographic": 50.0}, 5, minimum={"Geographic": 5})


def test_a_team_far_heavier_than_the_geographic_territories_is_not_feasible():
    # Healthcare is 25% of workload: forced into 1 of 8 territories it carries about twice a
    # geographic territory's load, so the alignment as a whole is outside +/-5% and must say so.
    accounts = clustered_accounts()
    params = BalanceParams(
        n_territories=8, industry_teams=("Healthcare",), industry_team_sizes=(("Healthcare", 1),), seed=0
    )
    result = balance_with_teams(accounts, params)
    assert result.feasible is False
    assert result.messages[0].startswith("Across groups the load per territory differs by")
