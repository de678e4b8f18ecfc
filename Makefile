# Merchant grading: `make demo` sets everything up and grades sample data;
# `make test` runs every check and test. Both create .venv on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

DATA := data
LANDING := $(DATA)/landing
WAREHOUSE := $(DATA)/warehouse.duckdb
OUTPUTS := $(DATA)/outputs
DEMO_MONTHS ?= 2026-01..2026-06
DEMO_THROUGH ?= 2026-06
DEMO_MERCHANTS ?= 2000
DEMO_ORDERS ?= 100000

.PHONY: setup demo test lint format ui clean

setup: $(STAMP)

# Direct dependencies are pinned in pyproject.toml; constraints.txt pins the rest.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: setup
	rm -rf $(LANDING) $(WAREHOUSE) $(WAREHOUSE).wal $(OUTPUTS)
	$(BIN)/grading generate --out $(LANDING) --merchants $(DEMO_MERCHANTS) \
		--months $(DEMO_MONTHS) --orders-per-month $(DEMO_ORDERS) --seed 7
	$(BIN)/grading run --landing $(LANDING) --warehouse $(WAREHOUSE) \
		--through $(DEMO_THROUGH) --outputs $(OUTPUTS)
	@echo
	@echo "Published tables: $(WAREHOUSE) (merchant_grades, exposure_weights,"
	@echo "  merchant_compliance, tier_distribution, quarantine)"
	@echo "Parquet exports:  $(OUTPUTS)/<table>/month=YYYY-MM/"
	@echo
	$(BIN)/grading summary --warehouse $(WAREHOUSE)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest

# The Dagster UI over the demo data: http://127.0.0.1:3000
ui: setup
	mkdir -p $(DATA)/dagster_home
	cp dagster.yaml $(DATA)/dagster_home/dagster.yaml
	DAGSTER_HOME=$(abspath $(DATA)/dagster_home) GRADING_LANDING=$(LANDING) \
		GRADING_WAREHOUSE=$(WAREHOUSE) GRADING_OUTPUTS=$(OUTPUTS) \
		$(BIN)/dagster dev -m pipelines.definitions -h 127.0.0.1 -p 3000

clean:
	rm -rf $(DATA) .pytest_cache .ruff_cache
