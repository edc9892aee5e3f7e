# Territory Studio: `make run` starts the app on the sample data, `make test` runs every test.
# Both create ./.venv and install what they need first (re-installed when a requirements file changes).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test browser bench sample clean

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# `make run` serves this machine only; ADDRESS=0.0.0.0 HOSTS=name.example.com serves a team on
# those host names (docs/app.md, "Serving a team")
run: $(VENV)/.runtime
	$(PY) -m streamlit run app.py --server.port $(PORT) $(if $(ADDRESS),--server.address $(ADDRESS)) \
	  $(foreach host,$(HOSTS),--server.allowedHosts $(host))

# Debian's Chromium drives the end-to-end tests (never `playwright install`: no downloads here).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	  || echo "note: Chromium not installed; browser tests will say so (install Debian's chromium)."; }

# one pytest worker per core (pytest-xdist): the browser tests start their own server on a free port;
# an idle worker takes tests still queued on the other (the slowest tests take 15-85 s each)
test: $(VENV)/.dev browser
	$(PY) -m pytest -n auto --dist worksteal

bench: $(VENV)/.dev browser
	$(PY) benchmarks/bench_load.py
	$(PY) benchmarks/bench_routing.py
	$(PY) benchmarks/bench_geography.py
	$(PY) benchmarks/bench_balance.py
	$(PY) benchmarks/bench_seeds.py
	$(PY) benchmarks/bench_events.py
	$(PY) benchmarks/bench_focus.py
	$(PY) benchmarks/bench_multi.py
	$(PY) benchmarks/bench_app.py
	$(PY) benchmarks/corpus.py

sample: $(VENV)/.runtime
	$(PY) data/make_sample.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
