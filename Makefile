# qapms task runner. `make help` lists the targets; `make test` is the one test command.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# The store conformance suite runs against this PostgreSQL database (.ci/run creates it).
export QAPMS_TEST_PG_URL ?= postgres://postgres@127.0.0.1:5432/qapms_test
# nextest is the fast parallel runner; plain `cargo test` is the fallback where it is missing.
NEXTEST := $(shell cargo nextest --version >/dev/null 2>&1 && echo yes)

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-15s %s\n", $$1, $$2}'

$(VENV)/.installed: python/requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r python/requirements-dev.txt
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create the Python virtual environment with the dev tools

.PHONY: dev
dev: venv ## Build the Python extension into the virtual environment (debug)
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --quiet

# Prism (npm) mocks the integrations' official API contracts for the contract suites; those
# suites say "skipped" without it, so CI installs it (.ci/run).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

.PHONY: node-tools
node-tools: node_modules/.package-lock.json ## Install the Node test tools (Prism)

.PHONY: build
build: ## Build every Rust binary
	cargo build --workspace --bins

.PHONY: test
test: test-rust test-python test-vscode ## Build everything and run every suite (Rust, store on SQLite and PostgreSQL, Python, the VS Code extension)

.PHONY: test-rust
test-rust: build
ifeq ($(NEXTEST),yes)
	cargo nextest run --workspace --exclude qapms-py --no-fail-fast
else
	cargo test --workspace --exclude qapms-py --no-fail-fast
endif
	cargo test --doc -p qapms-core

.PHONY: test-python
test-python: dev build test-wheels
	QAPMS_SERVER_BIN=$(abspath $(or $(CARGO_TARGET_DIR),target))/debug/qapms-server \
	QAPMS_LSP_BIN=$(abspath $(or $(CARGO_TARGET_DIR),target))/debug/qapms-lsp \
		$(PY) -m pytest python/tests -q

# The extension's TypeScript build and its manifest tests; skipped where npm is missing.
.PHONY: test-vscode
test-vscode:
	@if command -v npm >/dev/null 2>&1; then \
		cd editors/vscode && npm ci --no-audit --no-fund && npm run compile && npm test; \
	else \
		echo "npm not found: the VS Code extension is not built"; \
	fi

# The abi3 wheel is built once and import-tested under each of these Pythons that the machine
# has (pyenv's versions first, then `pythonX.Y` on PATH); a missing one is skipped with a note.
PYTHONS ?= 3.10 3.11 3.12 3.13
WHEEL_DIR := $(abspath $(VENV))-wheels

.PHONY: test-wheels
test-wheels: venv ## Build the abi3 wheel once and import-test it on every Python 3.10-3.13 found
	rm -rf $(WHEEL_DIR)
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin build --quiet --out $(WHEEL_DIR)
	@for v in $(PYTHONS); do \
		py=$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$$v.*/bin/python 2>/dev/null | tail -1); \
		if [ -z "$$py" ] && command -v python$$v >/dev/null && python$$v -c pass 2>/dev/null; then \
			py=$$(command -v python$$v); fi; \
		if [ -z "$$py" ]; then echo "test-wheels: no Python $$v on this machine, skipped"; continue; fi; \
		echo "test-wheels: Python $$v ($$py)"; \
		$$py -m venv --clear $(VENV)-wheel-$$v && \
		$(VENV)-wheel-$$v/bin/python -m pip install --quiet --no-index --no-deps $(WHEEL_DIR)/qapms-*.whl && \
		$(VENV)-wheel-$$v/bin/python python/wheel_smoke.py || exit 1; \
	done

.PHONY: fmt
fmt: venv ## Format Rust and Python
	cargo fmt --all
	$(VENV)/bin/ruff format python examples benches
	$(VENV)/bin/ruff check --fix python examples benches

.PHONY: lint
lint: dev ## clippy -D warnings, rustfmt, ruff, mypy, stubtest
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings
	$(VENV)/bin/ruff format --check python examples benches
	$(VENV)/bin/ruff check python examples benches
	$(VENV)/bin/mypy --strict
	$(PY) -m mypy.stubtest qapms._qapms

.PHONY: check-features
check-features: ## Check qapms-core with each feature alone and with none
	cargo check -p qapms-core --no-default-features
	cargo check -p qapms-core --no-default-features --features sqlite
	cargo check -p qapms-core --no-default-features --features postgres

.PHONY: bench
bench: venv ## Run the benchmarks and the side-by-side comparisons (see benches/README.md)
	cargo bench -p qapms-benches
	$(PY) -m pip install --quiet -r benches/requirements.txt
	$(PY) benches/config_compare.py
	$(PY) benches/sdk_compare.py
	cargo build --release -p qapms-server
	$(PY) benches/dashboard_compare.py

.PHONY: clean
clean: ## Remove build output and the virtual environment
	cargo clean
	rm -rf $(VENV) $(VENV)-wheel-*
