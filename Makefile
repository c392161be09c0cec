# Set-up is idempotent: every target that needs the environment builds it first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint synth clean

$(STAMP): requirements.txt pyproject.toml package.json package-lock.json
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	# Wheels of the locked requirements, so the packaging test installs offline in a fresh venv.
	$(BIN)/pip wheel --quiet --disable-pip-version-check --no-deps -r requirements.txt -w $(VENV)/wheelhouse
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/neptune-watch demo

test: setup
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: setup
	$(BIN)/ruff check .

synth: setup
	JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1 npx --no-install cdk synth --no-notices --quiet

clean:
	rm -rf cdk.out .pytest_cache
