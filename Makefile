# otelcol-dcom: build, run, test, lint and fuzz the collector distribution.
#
#   make build          build bin/otelcol-dcom with ocb (builder-config.yaml)
#   make build-windows  cross-compile bin/otelcol-dcom.exe (windows/amd64)
#   make run            build, then run config/demo.yaml on the sample events; stops by itself
#   make test           build, then every test of the root module (incl. e2e, which runs
#                       the binary) and of the modules under exporter/, receiver/ and bench/:
#                       goroutines under the race detector, the rest without it (see below)
#   make test-profile   the slowest packages and tests of make test (scripts/test-profile.sh)
#   make lint           golangci-lint (installed into bin/tools) in every module
#   make fuzz           every Fuzz* target in every module for FUZZTIME each
#   make bench          the performance harness (bench/run.sh): results in bench/results.md
#   make clean          remove _build/ and bin/

GO        ?= go
OCB_VERSION       := v0.165.0
GOLANGCI_VERSION  := v2.15.0
OCB       := $(GO) run go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)
BUILD_DIR := _build
BIN_DIR   := bin
TOOLS_DIR := $(BIN_DIR)/tools
DIST      := otelcol-dcom
GOLANGCI_LINT := $(TOOLS_DIR)/golangci-lint
FUZZTIME  ?= 30s
TEST_FLAGS ?= -count=1

# Go modules: the root first, then every nested go.mod (_build/ is generated).
# `lint` and `fuzz` cover every module; `test` the root (with e2e) and the
# modules under exporter/, receiver/ and bench/.
NESTED_MODULES := $(sort $(patsubst ./%/go.mod,%,$(shell find . -name go.mod -not -path './go.mod' \
	-not -path './_build/*' -not -path './bin/*' -not -path '*/testdata/*' 2>/dev/null)))
MODULES      := . $(NESTED_MODULES)

# make test runs each test once, with the race detector where there is
# concurrency to check and without it elsewhere: scripts/test.sh says which.
.PHONY: all build build-windows run test test-profile lint fuzz bench clean

all: build

build:
	$(OCB) --config builder-config.yaml
	mkdir -p $(BIN_DIR)
	# copy, then rename: replaces the binary even while a collector runs it
	cp $(BUILD_DIR)/$(DIST) $(BIN_DIR)/.$(DIST).tmp
	mv -f $(BIN_DIR)/.$(DIST).tmp $(BIN_DIR)/$(DIST)
	@echo "built $(BIN_DIR)/$(DIST)"

# ocb generates the sources and go.mod; the cross-compilation is a plain go build.
build-windows:
	$(OCB) --config builder-config.yaml --skip-compilation
	mkdir -p $(BIN_DIR)
	cd $(BUILD_DIR) && CGO_ENABLED=0 GOOS=windows GOARCH=amd64 \
		$(GO) build -trimpath -ldflags="-s -w" -o ../$(BIN_DIR)/$(DIST).exe .
	@echo "built $(BIN_DIR)/$(DIST).exe"

run: build
	bash scripts/run-demo.sh

# The e2e tests (./e2e) run bin/otelcol-dcom, so test needs build.
test: build
	GO=$(GO) TEST_FLAGS="$(TEST_FLAGS)" OTELCOL_DCOM_BIN=$(CURDIR)/$(BIN_DIR)/$(DIST) bash scripts/test.sh

# Where make test spends its time (both passes, per package and per test).
test-profile: build
	OTELCOL_DCOM_BIN=$(CURDIR)/$(BIN_DIR)/$(DIST) bash scripts/test-profile.sh

$(GOLANGCI_LINT):
	mkdir -p $(TOOLS_DIR)
	GOBIN=$(CURDIR)/$(TOOLS_DIR) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)

lint: $(GOLANGCI_LINT)
	@set -e; status=0; for m in $(MODULES); do \
		echo "== golangci-lint $$m"; \
		(cd $$m && $(CURDIR)/$(GOLANGCI_LINT) run --config $(CURDIR)/.golangci.yml ./...) || status=1; \
	done; exit $$status

fuzz:
	@set -e; for m in $(MODULES); do \
		bash scripts/fuzz.sh "$$m" "$(FUZZTIME)"; \
	done

# The benchmarks and the load test against bin/otelcol-dcom (about 10 minutes).
bench: build
	bash bench/run.sh

clean:
	rm -rf $(BUILD_DIR) $(BIN_DIR)
