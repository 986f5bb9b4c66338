# The one command CI and developers run is `make test`.
#
#   make test        check tools, install the pinned npm peers, gofmt, go vet,
#                    staticcheck, then every test with -race, the interop tests
#                    against Faye and cometd-nodejs-server included
#   make demo        run the demo (go run ./cmd/bayeux demo)
#   make bench       run the benchmarks
#   make fuzz        run every fuzz target for FUZZTIME (default 1m) each
#   make fuzz-short  run every fuzz target for 3s each (part of make test)
#   make compare     CPU per message: our client against the CometD JS client and gobayeux

SHELL := /bin/bash
GO ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
TEST_TIMEOUT ?= 10m
FUZZTIME ?= 1m

# The modules of the repository, listed in go.work: the SDK itself, the CLI
# (a module of its own so that its dependencies stay out of the SDK's
# go.mod) and the integrations with other systems.
MODULES = . cmd/bayeux contrib/otel contrib/redis contrib/salesforce examples/ha-consumer examples/observability examples/salesforce-cdc

# Go files of the repository (not those under node_modules).
GOFILES = $(shell find . -name '*.go' -not -path './.git/*' -not -path '*/node_modules/*')

.PHONY: test tools npm fmt vet staticcheck gotest demo bench fuzz fuzz-short compare

# The steps of test run in order, even under make -j.
.NOTPARALLEL:

test: tools npm fmt vet staticcheck gotest fuzz-short

tools:
	@command -v $(GO) >/dev/null 2>&1 || { echo "make: go not found on PATH (Go is expected at /usr/local/go/bin)" >&2; exit 1; }
	@command -v gcc >/dev/null 2>&1 || { echo "make: gcc not found on PATH; go test -race needs it (cgo). Install it, e.g. apt-get install gcc" >&2; exit 1; }
	@command -v node >/dev/null 2>&1 || { echo "make: node (Node.js) not found on PATH; the interop tests run Faye and cometd-nodejs-server in it. Install it, e.g. apt-get install nodejs npm" >&2; exit 1; }
	@command -v npm >/dev/null 2>&1 || { echo "make: npm not found on PATH; it installs the interop peers. Install it, e.g. apt-get install npm" >&2; exit 1; }

# Install exactly the versions in interop/package-lock.json.
npm:
	@npm ci --prefix interop --no-audit --no-fund --loglevel=error >/dev/null || { echo "make: npm ci --prefix interop failed" >&2; exit 1; }

fmt:
	@files="$$(gofmt -l $(GOFILES))"; \
	if [ -n "$$files" ]; then echo "gofmt: these files are not formatted (run gofmt -w on them):" >&2; echo "$$files" >&2; exit 1; fi

vet:
	@set -e; for m in $(MODULES); do echo "go vet ($$m)"; (cd $$m && $(GO) vet ./...); done

staticcheck:
	@set -e; for m in $(MODULES); do echo "staticcheck ($$m)"; (cd $$m && $(GO) run $(STATICCHECK) ./...); done

gotest:
	@set -e; for m in $(MODULES); do echo "go test ($$m)"; (cd $$m && BAYEUX_INTEROP=1 $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...); done

demo:
	$(GO) run ./cmd/bayeux demo

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# Every func FuzzX in a _test.go file, each run alone. Minimizing is capped
# at 10 runs: targets that drive a whole client are not deterministic
# enough for long minimizations.
#
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" when -fuzztime ends while a worker is mid-input on a busy machine
# (golang/go#75804, fixed in Go 1.27). A real failure always writes its input
# under testdata/fuzz/<target>; a run that ends with that message and wrote
# nothing is reported as the coordinator race and not counted as a failure.
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' --exclude-dir=node_modules '^func Fuzz' .); do \
		d=$$(dirname $$f); \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "fuzz $$d $$t ($(FUZZTIME))"; \
			before=$$(ls $$d/testdata/fuzz/$$t 2>/dev/null | wc -l); \
			out=$$(mktemp); rc=0; \
			$(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=10x $$d >$$out 2>&1 || rc=$$?; \
			after=$$(ls $$d/testdata/fuzz/$$t 2>/dev/null | wc -l); \
			if [ $$rc -ne 0 ] && [ "$$before" = "$$after" ] && grep -q '^    context deadline exceeded$$' $$out && ! grep -q -e '^panic' -e 'Failing input written' $$out; then \
				tail -n 3 $$out; echo "fuzz $$t: ended by the Go fuzz coordinator's deadline race (golang/go#75804), no failing input written; not a failure"; \
			elif [ $$rc -ne 0 ]; then cat $$out; rm -f $$out; exit $$rc; \
			else tail -n 1 $$out; fi; \
			rm -f $$out; \
		done; \
	done

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=3s

# Our client against the CometD JavaScript client and gobayeux on the same canned
# server, CPU per delivered message (see bench/compare). Not part of test.
compare: tools
	@npm ci --prefix bench/compare --no-audit --no-fund --loglevel=error >/dev/null || { echo "make: npm ci --prefix bench/compare failed" >&2; exit 1; }
	$(GO) run ./bench/compare
