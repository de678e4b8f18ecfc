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
# The demo's runs are recorded in this Dagster instance, so `make ui` shows their
# history, partitions and stale months. `grading run` records its runs in the
# dagster_home folder beside the warehouse by default: the same folder.
DAGSTER_HOME_DIR := $(abspath $(dir $(WAREHOUSE))dagster_home)

.PHONY: setup demo spark-demo test lint format ui clean

setup: $(STAMP)

# Direct dependencies are pinned in pyproject.toml; constraints.txt pins the rest. The
# spark extra (pyspark, sqlglot) is installed too: `make test` runs the Spark engine's
# tests on a local standalone cluster (Java 17+ needed; .ci/run installs it).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,spark]'
	touch $(STAMP)

demo: setup
	rm -rf $(LANDING) $(WAREHOUSE) $(WAREHOUSE).wal $(OUTPUTS) $(DAGSTER_HOME_DIR)
	mkdir -p $(DAGSTER_HOME_DIR)
	cp dagster.yaml $(DAGSTER_HOME_DIR)/dagster.yaml
	$(BIN)/grading generate --out $(LANDING) --merchants $(DEMO_MERCHANTS) \
		--months $(DEMO_MONTHS) --orders-per-month $(DEMO_ORDERS) --seed 7
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) $(BIN)/grading run --landing $(LANDING) \
		--warehouse $(WAREHOUSE) --through $(DEMO_THROUGH) --outputs $(OUTPUTS)
	@echo
	@echo "Published tables: $(WAREHOUSE) (merchant_grades, exposure_weights,"
	@echo "  merchant_compliance, tier_distribution, quarantine)"
	@echo "Parquet exports:  $(OUTPUTS)/<table>/month=YYYY-MM/"
	@echo "Dashboard:        $(OUTPUTS)/dashboard/index.html"
	@echo "Data Docs:        $(OUTPUTS)/data_docs/gx/uncommitted/data_docs/local_site/index.html"
	@echo
	$(BIN)/grading summary --warehouse $(WAREHOUSE)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The demo's landing graded again with --engine spark, on a local Spark (two cores, in
# this process's JVM), into its own warehouse and lake: Java 17+ is needed.
SPARK_DEMO := $(DATA)/spark
spark-demo: setup
	@test -d $(LANDING) || { echo "run make demo first (it generates $(LANDING))"; exit 1; }
	rm -rf $(SPARK_DEMO)
	$(BIN)/grading run --landing $(LANDING) --warehouse $(SPARK_DEMO)/warehouse.duckdb \
		--create --through $(DEMO_THROUGH) --outputs $(SPARK_DEMO)/outputs \
		--engine spark --spark-master 'local[2]' --lake $(SPARK_DEMO)/lake

# Two pytest-xdist workers, one per core of the CI machine; a module's tests, and all the
# Spark cluster's, stay on one worker (tests/conftest.py). TEST_WORKERS=0 runs them in this
# process, one by one.
TEST_WORKERS ?= 2
test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The Dagster UI over the demo data: http://127.0.0.1:3000
ui: setup
	mkdir -p $(DAGSTER_HOME_DIR)
	cp dagster.yaml $(DAGSTER_HOME_DIR)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) GRADING_LANDING=$(LANDING) \
		GRADING_WAREHOUSE=$(WAREHOUSE) GRADING_OUTPUTS=$(OUTPUTS) PYTHONUTF8=1 \
		$(BIN)/dagster dev -m assets.definitions -h 127.0.0.1 -p 3000

clean:
	rm -rf $(DATA) .pytest_cache .ruff_cache
