# The two commands: `make run` (the demo) and `make test` (the whole suite). Both install missing
# Debian packages first, so a fresh Debian 12 machine needs nothing else.
SHELL := /bin/bash
.DEFAULT_GOAL := run

JOBS ?= $(shell nproc)
SLUICE := build/release/cmd/sluice

# Build and test dependencies. bench adds BENCH_PACKAGES.
PACKAGES := build-essential cmake ninja-build ccache pkg-config python3 curl \
  libboost-dev libssl-dev libcurl4-openssl-dev nlohmann-json3-dev libtomlplusplus-dev libcli11-dev libfmt-dev catch2 \
  libnghttp2-dev libpcre2-dev libsimdjson-dev libsqlite3-dev prometheus
BENCH_PACKAGES := nginx haproxy wrk

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

define install_missing
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

.PHONY: deps deps-bench build build-dev run test test-unit test-integration bench bench-tokens install clean format

deps:
	$(call install_missing,$(PACKAGES))

deps-bench: deps
	$(call install_missing,$(BENCH_PACKAGES))

build/release/build.ninja:
	cmake --preset release >/dev/null

build/dev/build.ninja:
	cmake --preset dev >/dev/null

build: deps build/release/build.ninja
	cmake --build --preset release -j $(JOBS) --target sluice

build-dev: deps build/dev/build.ninja
	cmake --build --preset dev -j $(JOBS) --target unit_tests

run: build
	$(SLUICE) serve --demo

# Unit tests under ASan/UBSan (dev), then the integration tests, the scenarios and the SDK tests
# (tests/sdk: the openai and @anthropic-ai/sdk npm packages; Node 20 or later) against the
# release binary.
test: test-unit test-integration

test-unit: build-dev
	ctest --preset dev -L unit -j $(JOBS) --timeout 120

test-integration: deps build/release/build.ninja
	cmake --build --preset release -j $(JOBS) --target sluice integration_tests
	ctest --preset release -L "integration|scenarios|sdk" --timeout 300

bench: deps-bench build bench-tokens
	../shared/bench/proxy-vs.sh -- $(SLUICE) serve --config bench/proxy.toml
	bench/proxy-vs-4k.sh -- $(SLUICE) serve --config bench/proxy.toml
	../shared/bench/llm-vs.sh -- $(SLUICE) serve --config bench/llm.toml
	PROMPT_KB=400 ../shared/bench/llm-vs.sh -- $(SLUICE) serve --config bench/llm.toml
	bench/llm-context.sh $(SLUICE)

# Tokenizers against js-tiktoken (Node 20) on the same text: identical counts, at least 5x.
bench-tokens: deps build/release/build.ninja
	cmake --build --preset release -j $(JOBS) --target tokens_bench
	bench/tokens.sh build/release/bench/tokens_bench

PREFIX ?= /usr/local
install: build
	install -D -m 0755 $(SLUICE) $(DESTDIR)$(PREFIX)/bin/sluice
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	  $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 0644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 man/*.7 $(DESTDIR)$(PREFIX)/share/man/man7/
	install -D -m 0644 completions/sluice.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/sluice
	install -D -m 0644 completions/_sluice $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_sluice
	install -D -m 0644 completions/sluice.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/sluice.fish

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build
