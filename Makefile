# Sijill: `make run` serves the API with a local chain; `make test` runs the whole suite.
# Both set everything up first (Python venv, npm packages, contract build).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMPS := .make
NPM    ?= npm
# The contracts' artifacts inside the package (see below): the registry, the council's timelock,
# and the Safe multisig (from @safe-global/safe-contracts on npm, which ships them built).
COMPILED      := ledger/chain/compiled
REGISTRY_COPY := $(COMPILED)/DocumentRegistry.json
SAFE_BUILD    := node_modules/@safe-global/safe-contracts/build/artifacts/contracts

.PHONY: setup build run test test-deep lint format gas bench clean distclean

setup: $(STAMPS)/python $(STAMPS)/contracts $(REGISTRY_COPY) $(STAMPS)/web

$(STAMPS)/python: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Sijill needs Python 3.11 or newer"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@mkdir -p $(STAMPS) && touch $@

# `npm install` honours package-lock.json; `npm ci` refuses it because npm leaves the other
# platforms' optional Anvil binaries out of the lock file.
$(STAMPS)/node: package.json package-lock.json
	$(NPM) install --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/contracts: $(STAMPS)/node hardhat.config.js $(wildcard contracts/*.sol)
	npx --no-install hardhat compile --quiet
	@mkdir -p $(STAMPS) && touch $@

# The artifacts as Hardhat (and Safe's build) wrote them, copied into the package: a wheel carries
# them. The Safe's also go to artifacts/safe/, for SIJILL_ARTIFACTS_DIR=artifacts.
$(REGISTRY_COPY): $(STAMPS)/contracts
	@mkdir -p $(COMPILED) artifacts/safe
	cp artifacts/contracts/CouncilTimelock.sol/CouncilTimelock.json $(COMPILED)/
	cp $(SAFE_BUILD)/SafeL2.sol/SafeL2.json $(SAFE_BUILD)/proxies/SafeProxyFactory.sol/SafeProxyFactory.json \
		$(COMPILED)/
	cp $(SAFE_BUILD)/SafeL2.sol/SafeL2.json $(SAFE_BUILD)/proxies/SafeProxyFactory.sol/SafeProxyFactory.json \
		artifacts/safe/
	cp artifacts/contracts/DocumentRegistry.sol/DocumentRegistry.json $@

# The verification page's script: bundled from web/src with its npm QR decoder, nothing fetched at run time.
# The consent page's script the same way, with its npm DCQL reader and Keccak; both check and derive
# ecdsa-sd-2023 credentials in the browser (Digital Bazaar's libraries, the W3C contexts bundled).
# base64url-universal names its browser build in a "browser" field that its "exports" hide from esbuild:
# without the alias the bundle takes the Node build, which needs Node's Buffer.
$(STAMPS)/web: $(STAMPS)/node $(wildcard web/src/*.js) $(wildcard ledger/vc/contexts/*.jsonld)
	npx --no-install esbuild web/src/verify.js web/src/present.js --bundle --minify --format=iife --target=es2020 \
		--platform=browser --loader:.jsonld=json --outdir=web/static/dist --log-level=warning \
		--alias:base64url-universal=./node_modules/base64url-universal/lib/browser.js
	@mkdir -p $(STAMPS) && touch $@

build: $(STAMPS)/contracts $(REGISTRY_COPY) $(STAMPS)/web

run: setup
	$(VENV)/bin/sijill up

# Debian packages the project needs, installed once when their command is missing (never a
# downloaded binary): $(call apt_install,COMMAND,PACKAGE).
apt_install = command -v $(1) >/dev/null 2>&1 || { \
	SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(2); }

# The browser tests drive Debian's Chromium.
$(STAMPS)/browser:
	@$(call apt_install,chromium,chromium)
	@mkdir -p $(STAMPS) && touch $@

# The tests whose outcome turns on the node's answers (transactions and their receipts, reverts,
# events, storage proofs, blocks and finality) run twice: on Anvil, then on Hardhat's node (a second
# JSON-RPC implementation: its own RPC layer, mempool, miner, error format and headers), all but those
# that need Anvil itself (marked anvil_only). The layers above the chain adapter (access, input
# errors, the CLI, pages, the store) ask the node nothing the list below does not, and run once.
# The store is the same either way: SQLite only the second time.
NODE_TESTS := tests/contracts tests/interop/test_events_root.py \
	$(addprefix tests/integration/test_,api_documents.py audit.py chain_lifecycle.py council.py \
		credentials.py document_types.py networks.py nodes.py pipeline.py pipeline_faults.py sending.py)

# Two pytest workers (pytest-xdist), a test file to each at a time: most tests wait on a chain
# node, a browser or a service process of their own, so two keep both cores busy. Each worker
# has its own session chain node, browser and databases (every test gets a fresh one anyway).
PYTEST_JOBS ?= 2
PYTEST := $(PY) -m pytest -n $(PYTEST_JOBS) --dist loadfile

test: setup $(STAMPS)/browser
	$(PYTEST)
	SIJILL_TEST_NODE=hardhat $(PYTEST) -m "not anvil_only and not postgres" $(NODE_TESTS)

# The property tests searching harder (tests/profile.py): the stateful registry test 200 examples
# of 50 steps, the Merkle proof property 200 examples, schemathesis 100 per operation.
DEEP_TESTS := tests/contracts/test_registry_stateful.py tests/contracts/test_registry_proofs.py \
	tests/integration/test_api_fuzz.py
test-deep: setup
	SIJILL_TEST_PROFILE=deep $(PYTEST) $(DEEP_TESTS)

# Slither, the static analyser, in a venv of its own: it needs web3 7, the service web3 8.
$(STAMPS)/slither:
	@test -x .venv-slither/bin/slither || $(PYTHON) -m venv .venv-slither
	.venv-slither/bin/pip install --quiet --disable-pip-version-check slither-analyzer==0.11.6
	@mkdir -p $(STAMPS) && touch $@

lint: setup $(STAMPS)/slither
	$(VENV)/bin/ruff check ledger api cli tests scripts benchmarks examples
	$(VENV)/bin/ruff format --check ledger api cli tests scripts benchmarks examples
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict examples/loan_form/app.py
	npx --no-install solhint 'contracts/**/*.sol'
	PATH="$(CURDIR)/.venv-slither/bin:$(CURDIR)/node_modules/.bin:$$PATH" .venv-slither/bin/slither . --config-file slither.config.json

format: setup
	$(VENV)/bin/ruff format ledger api cli tests scripts benchmarks examples
	$(VENV)/bin/ruff check --fix ledger api cli tests scripts benchmarks examples

# Benchmarks run as modules from the repository root; each saves what it printed in
# benchmarks/results/, where the README's figures are checked against it.
gas: setup
	$(PY) -m scripts.gas_report

# The benchmarks (minutes, not part of the suite): the pipeline's figures beside their baselines
# (load from wrk), single calls in process, the auditor's replay, and what the security costs.
$(STAMPS)/wrk:
	@$(call apt_install,wrk,wrk)
	@mkdir -p $(STAMPS) && touch $@

bench: setup $(STAMPS)/wrk
	$(PY) -m benchmarks.pipeline
	$(PY) -m benchmarks.verify_and_issue
	$(PY) -m benchmarks.credentials
	$(PY) -m benchmarks.presentations
	$(PY) -m benchmarks.audit_replay --breakdown
	$(PY) -m benchmarks.security_costs
	$(PY) -m benchmarks.ledger_reads
	$(PY) -m benchmarks.spreadsheet_issuance

clean:
	rm -rf artifacts cache $(REGISTRY_COPY) $(STAMPS) .pytest_cache .mypy_cache .ruff_cache

distclean: clean
	rm -rf $(VENV) .venv-slither node_modules data
