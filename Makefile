# Two entry points: `make run` (set up, then run the main job) and `make test` (set up, then test).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test setup models lint unit slow bench clean

run: setup
	$(VENV)/bin/voicebox run

test: setup lint
	$(VENV)/bin/voicebox models install vosk-ko
	$(VENV)/bin/pytest -q -m "not slow" tests/unit tests/tui tests/integration
	$(VENV)/bin/pytest -q -m "not slow" tests/e2e

setup: $(STAMP) models

$(STAMP): pyproject.toml scripts/setup.sh scripts/build-llama-wheel.sh
	bash scripts/setup.sh
	touch $(STAMP)

models: $(STAMP)
	$(VENV)/bin/voicebox models install

lint: $(STAMP)
	$(VENV)/bin/ruff check appliance tui tests bench
	$(VENV)/bin/mypy appliance tui

# day-to-day: the unit tests without the long ones (a few minutes); `make test` runs everything
unit: $(STAMP)
	$(VENV)/bin/pytest -q -m "not slow" tests/unit

# only the long checks (capacity, every template's flows, the spoken set): about 25 minutes;
# `make test` leaves them out, run them before calling a routing, speech or capacity change done
slow: setup
	$(VENV)/bin/voicebox models install vosk-ko
	$(VENV)/bin/pytest -q -m slow tests

bench: setup
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var/cache
