# pinframe: the two commands a newcomer needs are `make run` (the demo) and `make test`.
# Every install step checks first and does nothing when the tool is already there at the right version.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

export PATH := $(HOME)/.cargo/bin:$(CURDIR)/tools/node_modules/.bin:$(PATH)
export CARGO_TERM_COLOR ?= never
# A CI run builds once from clean: incremental state would only cost disk (over 2 GB) and time.
ifneq ($(CI),)
export CARGO_INCREMENTAL ?= 0
endif

TRUNK_VERSION := 0.21.14
# The book's builder (docs/book), without its own web server and file watcher.
MDBOOK_VERSION := 0.5.4
MDBOOK := $(HOME)/.cargo/bin/mdbook
# A command prefix that runs its command in a network namespace of its own, with no interface up.
OFFLINE := $(shell unshare -n true 2>/dev/null && echo "unshare -n")
# The wasm-bindgen CLI must be exactly the version the widget links (Cargo.lock).
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/"/, "", $$3); print $$3 }' Cargo.lock)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYENV := target/pyenv
PYTHON := $(CURDIR)/$(PYENV)/bin/python
CHROMEDRIVER := /usr/bin/chromedriver
FIREFOX := /usr/bin/firefox-esr
# Debian 12's PostgreSQL server (tools/pgcluster.sh finds it there too).
PG_BINDIR := /usr/lib/postgresql/15/bin
# The wasm features index.html gives Trunk's wasm-opt; the bench's wasm is optimised the same way.
WASM_OPT_FEATURES := --enable-bulk-memory --enable-multivalue --enable-mutable-globals \
	--enable-nontrapping-float-to-int --enable-reference-types --enable-sign-ext

.PHONY: run test deps deps-build deps-servers deps-webkit deps-firefox check test-native test-postgres test-postgres-suites \
	test-interop test-browser test-e2e test-api-fuzz widget widget-size fuzz-check fuzz-smoke host-kit host-kit-deps \
	test-rust test-ops bench bench-wasm wasm-crates clean-tools test-fonts docs deps-docs test-docs

# `make run LISTEN=0.0.0.0:8080 DATA_DIR=/var/lib/pinframe` to change where the demo listens and keeps data.
LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= ./data

## run: build the widget and the service, and start the demo (`pinframe serve --demo`); it prints the
## /demo/ URL to open. Ctrl-C stops it; the data directory keeps keys, databases and the demo PIN.
## The book is served at /docs/ once `make docs` has built it.
run: widget
	cargo build --release --locked -p pinframe
	target/release/pinframe serve --demo --listen $(LISTEN) --data-dir $(DATA_DIR) --widget-dir dist \
		--docs-dir target/book

## test: install what tests need, then run every check and test suite. The host package's npm
## install (mostly I/O, most of a minute on a fresh clone) runs beside the Rust checks and suites.
test: deps
	@$(MAKE) --no-print-directory -j2 test-rust host-kit-deps
	@$(MAKE) --no-print-directory host-kit test-docs test-e2e test-api-fuzz test-ops fuzz-check
	@echo "make test: all checks passed"

# The Rust checks and suites, one after another.
test-rust:
	@$(MAKE) --no-print-directory -j1 check test-native test-postgres test-interop test-browser

host-kit-deps: packages/pinframe-host/node_modules/.installed

## deps-build: what building needs: the wasm target, Trunk, the wasm-bindgen CLI, and wasm-opt (npm).
deps-build: target/.deps-rust tools/node_modules/.installed

## deps: deps-build, plus Chromium + ChromeDriver, WebKitGTK's WebDriver under Xvfb (deps-webkit),
## Firefox ESR (deps-firefox), the PyPI oracles, and PostgreSQL, HAProxy and SoftHSM2 (deps-servers) for the tests.
deps: deps-build $(CHROMEDRIVER) deps-webkit deps-firefox $(PYENV)/.installed deps-servers deps-docs

## deps-docs: mdbook for the book (Chromium, which renders its diagrams, and Redocly come with deps).
deps-docs:
	@$(MDBOOK) --version 2>/dev/null | grep -qx "mdbook v$(MDBOOK_VERSION)" \
		|| cargo install mdbook --version $(MDBOOK_VERSION) --locked --no-default-features --features search

target/.deps-rust: Cargo.lock Makefile
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
	@trunk --version 2>/dev/null | grep -qx "trunk $(TRUNK_VERSION)" \
		|| cargo install trunk --version $(TRUNK_VERSION) --locked
	@# Without --locked: the CLI's own lock file names a crate version the registry does not serve.
	@{ wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $(WASM_BINDGEN_VERSION)" \
		&& wasm-bindgen-test-runner --version 2>/dev/null | grep -q "$(WASM_BINDGEN_VERSION)"; } \
		|| cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --force
	@grep -q '^wasm_bindgen = "$(WASM_BINDGEN_VERSION)"' Trunk.toml \
		|| { echo "Trunk.toml [tools] wasm_bindgen must be $(WASM_BINDGEN_VERSION), as in Cargo.lock"; exit 1; }
	@mkdir -p target && touch $@

$(CHROMEDRIVER):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null

## deps-servers: Debian's postgresql and haproxy, installed only when missing. The tests run their own
## clusters and proxies on loopback ports, so the system services apt starts are stopped again.
deps-servers:
	@if [ ! -x $(PG_BINDIR)/initdb ] || ! { command -v haproxy || [ -x /usr/sbin/haproxy ]; } >/dev/null; then \
		$(SUDO) apt-get update -qq; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql haproxy >/dev/null; \
		$(SUDO) service postgresql stop >/dev/null 2>&1 || true; \
		$(SUDO) service haproxy stop >/dev/null 2>&1 || true; \
	fi
	@# SoftHSM2 (the HSM the key-store tests use, through PKCS#11) and OpenSC's pkcs11-tool (which
	@# reads its key objects' attributes from outside).
	@if [ ! -f /usr/lib/softhsm/libsofthsm2.so ] || ! command -v pkcs11-tool >/dev/null; then \
		$(SUDO) apt-get update -qq; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq softhsm2 opensc >/dev/null; \
	fi

## deps-webkit: Debian's webkit2gtk-driver (WebKit, Safari's engine, for tests/e2e/framing-webkit) and
## xvfb (its display), installed only when missing.
deps-webkit:
	@if ! command -v WebKitWebDriver >/dev/null || ! command -v xvfb-run >/dev/null; then \
		$(SUDO) apt-get update -qq; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq webkit2gtk-driver xvfb >/dev/null; \
	fi

## deps-firefox: Debian's firefox-esr (Gecko, driven over WebDriver BiDi by puppeteer-core for
## tests/e2e/engines), installed only when missing.
deps-firefox:
	@if [ ! -x $(FIREFOX) ]; then \
		$(SUDO) apt-get update -qq; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq firefox-esr >/dev/null; \
	fi

tools/node_modules/.installed: tools/package.json tools/package-lock.json
	npm ci --prefix tools --no-audit --no-fund --loglevel=error
	@touch $@

$(PYENV)/.installed: tools/requirements.txt
	python3 -m venv $(PYENV)
	$(PYENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements.txt
	@touch $@

# Every crate of the workspace, for the layout check.
CRATES := . $(wildcard crates/*)

## check: formatting and lints, natively and for wasm32; no import cycle between a crate's modules
## and no source file over 500 lines (tools/modcycles.py).
check: target/.deps-rust
	cargo fmt --all -- --check
	python3 tools/modcycles.py --max-lines 500 $(CRATES)
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo clippy -p pinframe-core -p pinframe-protocol --target wasm32-unknown-unknown --lib --locked -- -D warnings
	cargo clippy -p pinframe-widget --target wasm32-unknown-unknown --all-targets --locked -- -D warnings

## test-native: unit, property, vector and command-line tests.
test-native:
	cargo test --workspace --locked

## test-postgres: the store, router, set-PIN, deployment, key-rotation and audit suites again on PostgreSQL
## (each of their tests runs on SQLite and on PostgreSQL), then two replicas on one database behind HAProxy (deploy/haproxy.cfg)
## with Node's test runner (tests/replicas/). tools/with-postgres.sh starts a throwaway cluster under
## /tmp for them and removes it afterwards, whatever the outcome.
test-postgres: deps
	tools/with-postgres.sh $(MAKE) --no-print-directory test-postgres-suites

# test-postgres's suites; they need PINFRAME_TEST_DATABASE_URL and PINFRAME_TEST_PGCLUSTER, which
# tools/with-postgres.sh exports.
test-postgres-suites:
	@[ -n "$${PINFRAME_TEST_DATABASE_URL:-}" ] && [ -n "$${PINFRAME_TEST_PGCLUSTER:-}" ] \
		|| { echo "test-postgres-suites runs inside tools/with-postgres.sh: use make test-postgres"; exit 2; }
	cargo test --workspace --locked --test store --test api --test set_pin --test deployment --test keys --test audit --test audit_fail_closed
	cargo build --locked -p pinframe
	PATH="$$PATH:/usr/sbin" PINFRAME_BIN=target/debug/pinframe node --test --test-concurrency=1 tests/replicas/

## test-interop: JWE and PIN blocks against jwcrypto, joserfc, panva jose and psec; then the
## reference CMS's D1 PIN Management API over HTTP with those libraries as the client (tests/d1).
test-interop: deps
	PINFRAME_PYTHON=$(PYTHON) cargo test --workspace --test interop --locked -- --include-ignored
	cargo build --locked -p pinframe
	PINFRAME_BIN=target/debug/pinframe $(PYTHON) -m unittest discover -s tests/d1 -v

## test-browser: the core inside headless Chromium (wasm-bindgen-test).
test-browser: deps
	CHROMEDRIVER=$(CHROMEDRIVER) CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
		cargo test -p pinframe-widget --target wasm32-unknown-unknown --tests --locked

## test-e2e: the running binary against an outside JOSE client and headless Chromium (playwright-core):
## the desktop iframe, Android and iOS flows, then a check that the logs hold no secret; the framing
## checks (a token's PIN only inside its parentOrigin) also in WebKit, through WebKitGTK's WebDriver;
## the view and set flows in a host page's iframe in WebKit and in Firefox ESR (puppeteer-core, WebDriver
## BiDi) too (tests/e2e/engines); and Lighthouse's accessibility and best-practices scores (both 1)
## on the view and set pages in Chromium, whose console must stay free of warnings and errors; and the
## service with every key in a SoftHSM2 token (tests/e2e/hsm: view, set, oracles, rotation).
test-e2e: deps widget docs
	cargo build --locked -p pinframe
	node --test --test-concurrency=1 tests/e2e/

## test-api-fuzz: schemathesis (tools/requirements.txt) against the running binary, `pinframe serve
## --demo` and `pinframe cms`, with every check, against each one's served OpenAPI file: every
## response must be one the file describes (tests/schemathesis/). About a minute.
test-api-fuzz: $(PYENV)/.installed
	cargo build --locked -p pinframe
	PINFRAME_BIN=target/debug/pinframe $(PYTHON) tests/schemathesis/run.py

## test-ops: the operational acceptance tests against the running binary (tests/ops/): a view flow
## beside 1,000 slow connections with the service limited to 256 files, SIGTERM under half-sent
## requests, a 30 s flood of wrong client secrets, ephemeral keys carrying their private part,
## database file modes, /healthz and /metrics, and every audit event of one service then its export
## and verify (tests/ops/audit). About 110 s. The test process holds over a thousand
## sockets, hence its raised descriptor limit; the widget is not needed.
test-ops: tools/node_modules/.installed
	cargo build --locked -p pinframe
	ulimit -n 8192 && PINFRAME_BIN=target/debug/pinframe node --test --test-concurrency=1 tests/ops/

## bench: the widget's transfer size and time to PIN against a static floor, its wasm decrypt
## against WebCrypto, the service's views per second against the crypto ceiling (on SQLite, on
## PostgreSQL, and on two PostgreSQL replicas behind HAProxy, beside a throwaway cluster), and the core's
## JWE encrypts against panva jose: writes target/bench/summary.json and prints a table. Not part
## of `make test`; a few minutes. Nothing else should run on the machine meanwhile.
bench: deps widget bench-wasm wasm-crates
	cargo build --release --locked -p pinframe -p pinframe-bench
	cargo bench --locked -p pinframe-core --bench core --no-run
	PATH="$$PATH:/usr/sbin" PINFRAME_BIN=target/release/pinframe tools/with-postgres.sh node bench/run.mjs

## wasm-crates: the widget's wasm by crate (tools/wasm-crates.mjs: twiggy over the widget as shipped,
## with its names kept by wasm-bindgen --keep-debug and wasm-opt --debuginfo); `make bench` prints
## it and writes target/bench/wasm-crates.json. Installs twiggy when missing.
TWIGGY_VERSION := 0.8.0
wasm-crates: widget
	@twiggy --version 2>/dev/null | grep -q " $(TWIGGY_VERSION)$$" || cargo install twiggy --version $(TWIGGY_VERSION) --locked
	wasm-bindgen --target web --no-typescript --keep-debug --out-dir target/bench/named \
		target/wasm32-unknown-unknown/widget/pinframe-widget.wasm
	wasm-opt -Oz $(WASM_OPT_FEATURES) --debuginfo target/bench/named/pinframe-widget_bg.wasm \
		-o target/bench/named/widget.wasm
	node tools/wasm-crates.mjs target/bench/named/widget.wasm target/bench/wasm-crates.json

## bench-wasm: the widget's decrypt alone, built as the widget is, for bench/decrypt.html.
bench-wasm: deps-build
	cargo build --locked -p pinframe-bench-wasm --lib --target wasm32-unknown-unknown --profile widget
	wasm-bindgen --target web --no-typescript --out-dir target/bench/wasm \
		target/wasm32-unknown-unknown/widget/pinframe_bench_wasm.wasm
	wasm-opt -Oz $(WASM_OPT_FEATURES) target/bench/wasm/pinframe_bench_wasm_bg.wasm \
		-o target/bench/wasm/pinframe_bench_wasm_bg.wasm

## widget: Trunk builds index.html into dist/, offline, with wasm-opt -Oz; then tools/precompress.mjs
## drops the `integrity` browsers ignore (the wasm's preload; Chromium warns of it) and the comments from
## dist/index.html, strips the stylesheet's comments and indentation, gives the wasm's imports and
## exports short names in it and its JS glue (tools/short-names.mjs; the <link>s get the new integrity),
## and precompresses each asset with brotli (dist/NAME.br), which the service serves to browsers that
## accept it.
widget: deps-build
	trunk build --release --offline
	node tools/precompress.mjs dist
	@$(MAKE) --no-print-directory widget-size

widget-size:
	@for f in dist/*.wasm dist/*.js dist/*.css; do \
		printf '%-48s %8d bytes raw %8d gzip %8d brotli\n' "$$f" "$$(stat -c %s "$$f")" \
			"$$(gzip -9 -c "$$f" | wc -c)" "$$(stat -c %s "$$f.br")"; \
	done

## host-kit: the host integration package (packages/pinframe-host): its devDependencies from its
## lock file, installed only when that changed (types only: no install scripts run), then TypeScript
## over the event types, the desktop helper and the bridge (DOM), and over the React Native
## component against the real react, react-native and react-native-webview types.
## docs: the book (docs/book, mdbook) with its diagrams rendered to SVG and the API reference rendered
## from both OpenAPI files (Redocly), offline, into target/book/ (tools/book.mjs); then every internal
## link and anchor of it is checked (tools/linkcheck.mjs). `make run` serves it at /docs/. Where the
## machine lets it (root, or user namespaces), the build runs with no network at all (`unshare -n`),
## which proves it offline.
docs: deps-docs tools/node_modules/.installed $(CHROMEDRIVER)
	$(OFFLINE) env MDBOOK=$(MDBOOK) node tools/book.mjs
	node tools/linkcheck.mjs target/book

## test-docs: the book built and link-checked (docs), `redocly lint` on both OpenAPI files (no error;
## redocly.yaml), the book's code samples type-checked (TypeScript: the web and React Native hosts
## against the host package, the issuer's back end for Node) or syntax-checked (shell), its inline
## code blocks checked (tools/check-samples.mjs: shell, JSON, JavaScript; TypeScript only included), and the
## security chapters' checks (tests/docs). The configuration reference is compared with the help
## by crates/pinframe/tests/book_config.rs, in test-native.
test-docs: docs host-kit-deps
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true redocly lint --format=summary \
		crates/pinframe/openapi.json crates/pinframe-cms/openapi.json
	@for config in $$(find docs/book/samples -name 'tsconfig*.json' | sort); do \
		echo "tsc -p $$config --noEmit"; packages/pinframe-host/node_modules/.bin/tsc -p $$config --noEmit || exit 1; \
	done
	@for script in $$(find docs/book/samples -name '*.sh' | sort); do \
		echo "bash -n $$script"; bash -n $$script || exit 1; \
	done
	node tools/check-samples.mjs $$(find docs/book/src -name '*.md' | sort) docs/protocol.md docs/deploy.md \
		docs/keys.md docs/theming.md
	node --test tests/docs/

host-kit: packages/pinframe-host/node_modules/.installed
	packages/pinframe-host/node_modules/.bin/tsc -p packages/pinframe-host --noEmit
	packages/pinframe-host/node_modules/.bin/tsc -p packages/pinframe-host/tsconfig.react-native.json --noEmit

packages/pinframe-host/node_modules/.installed: packages/pinframe-host/package.json packages/pinframe-host/package-lock.json
	npm ci --prefix packages/pinframe-host --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

## test-fonts: rebuild the WOFF2 fonts the theme tests upload (crates/pinframe/tests/fixtures/fonts)
## with fontTools and brotli; the output is the same bytes every time.
test-fonts: $(PYENV)/.installed
	$(PYTHON) tools/make-test-fonts.py

## fuzz-check: the fuzz crate (excluded from the workspace) still builds.
fuzz-check:
	cargo check --manifest-path fuzz/Cargo.toml --bins

## fuzz-smoke: one minute of fuzzing, 15 s on each target (installs cargo-fuzz; see fuzz/README.md).
FUZZ_TARGETS := jwe_decrypt jwk_parse pinblock_decode ids_parse
fuzz-smoke:
	@cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none $$t -- -max_total_time=15 || exit 1; \
	done

clean-tools:
	rm -rf tools/node_modules $(PYENV) target/.deps-rust
