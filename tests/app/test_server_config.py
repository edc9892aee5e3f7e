"""The server's defaults (#18, item 9): this machine only, no outbound lookups, Host checked."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10: the toml package Streamlit depends on
    import toml as tomllib

REPO = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))


def test_the_app_listens_on_this_machine_only_and_checks_the_host_header():
    assert CONFIG["server"]["address"] == "localhost"
    assert set(CONFIG["server"]["allowedHosts"]) == {"localhost", "127.0.0.1"}
    assert CONFIG["browser"]["gatherUsageStats"] is False


def test_start_up_looks_up_no_external_address(monkeypatch):
    """Streamlit asks checkip.amazonaws.com for an 'External URL' when it listens on every
    interface; with the address set it prints the one URL and asks nothing."""
    from streamlit import config, net_util
    from streamlit.web import bootstrap

    def no_lookup():
        raise AssertionError("Streamlit looked up the external IP address")

    monkeypatch.setattr(net_util, "get_external_ip", no_lookup)
    monkeypatch.chdir(REPO)
    config.get_config_options(force_reparse=True)
    try:
        assert config.get_option("server.address") == "localhost"
        bootstrap._print_url(False)
    finally:
        monkeypatch.undo()
        config.get_config_options(force_reparse=True)


@pytest.mark.parametrize(("make_vars", "expected"), [
    ([], []),
    (["ADDRESS=0.0.0.0", "HOSTS=planning.example.com 10.0.0.5"],
     ["--server.address", "0.0.0.0", "--server.allowedHosts", "planning.example.com",
      "--server.allowedHosts", "10.0.0.5"]),
])
def test_make_run_serves_a_team_only_when_asked(make_vars, expected):
    command = subprocess.run(["make", "-n", "-s", "run", *make_vars], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout
    words = command.replace("\\\n", " ").split()
    started = words[words.index("app.py") + 1:]
    assert [w for w in started if w not in ("--server.port", "8501")] == expected
