# cp247: `make run` starts the embedded product, `make test` runs every test.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export AMQP_URI ?= amqp://guest:guest@127.0.0.1:5672/
export CP247_PG_ADMIN_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: run run-distributed demo test test-unit lint format events-doc security-doc bench soak clean
.PHONY: deploy-check chart-check compose-check yaml-lint

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/cp247 run --host $${HOST:-127.0.0.1} --port $${PORT:-8080} --data-dir $${CP247_DATA_DIR:-./cp247-data}

demo: $(STAMP)
	$(BIN)/cp247 demo --data-dir $${CP247_DATA_DIR:-./cp247-data}

run-distributed: $(STAMP)
	$(BIN)/python -m cp247.distributed

test: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider

test-unit: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider tests/unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Deployment files, checked without a Docker engine or a cluster (infra/deploy_check.py):
# the chart rendered with helm for its default and production values and validated against
# the Kubernetes schemas, docker-compose.yml against the Compose Specification, yamllint.
deploy-check: $(STAMP)
	$(BIN)/python infra/deploy_check.py chart compose yaml

chart-check: $(STAMP)
	$(BIN)/python infra/deploy_check.py chart

compose-check: $(STAMP)
	$(BIN)/python infra/deploy_check.py compose

yaml-lint: $(STAMP)
	$(BIN)/python infra/deploy_check.py yaml

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

events-doc: $(STAMP)
	$(BIN)/cp247 events-doc --output docs/events.md

security-doc: $(STAMP)
	$(BIN)/cp247 security-doc --output docs/security.md

bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench.run

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	@touch $@

# The fault suite for SOAK_MINUTES (default 30) on this machine's RabbitMQ and PostgreSQL,
# which it restarts: run nothing else against them meanwhile. Figures: docs/soak-latest.json.
soak: $(STAMP)
	$(BIN)/python tests/soak.py --minutes $${SOAK_MINUTES:-30} --replicas $${SOAK_REPLICAS:-2}

clean:
	rm -rf $(VENV) cp247-data .pytest_cache
