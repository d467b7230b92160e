# Strongroom developer tasks.
#
# `make test` is the test command: it needs only Go. Tests that need
# PostgreSQL or a browser skip when those are missing, unless
# STRONGROOM_REQUIRE_POSTGRES=1 or STRONGROOM_REQUIRE_BROWSER=1 (as in CI).
# Developer tools (staticcheck, govulncheck) are pinned in tools/go.mod.

GO       ?= go
GOFMT    ?= gofmt
TOOL     := $(GO) tool -modfile=tools/go.mod
FUZZTIME ?= 10s

# The race detector needs cgo (a C compiler). Without one, test without it;
# CI passes RACE=-race so that a missing compiler fails there.
RACE ?= $(if $(filter 1,$(shell $(GO) env CGO_ENABLED)),-race)

# Offline copy of the Go vulnerability database; override with
# STRONGROOM_VULNDB=/path/to/vulndb.
STRONGROOM_VULNDB ?= ../shared/vulndb

.PHONY: test fuzz bench lint vuln run build browser-deps screenshots

# The HTTP package's suite runs both engines end to end and, with the race
# detector on a busy two-core machine, takes longer than go test's default
# ten-minute limit.
test:
	$(GO) test $(RACE) -count=1 -timeout 30m ./...

# Runs every Fuzz function of every package for FUZZTIME each.
fuzz:
	@list=$$($(GO) test -list '^Fuzz' ./...) || { echo "$$list"; exit 1; }; \
	targets=$$(echo "$$list" | awk '/^Fuzz/ { f[n++] = $$1; next } /^ok / { for (i = 0; i < n; i++) print $$2 "," f[i] } { n = 0 }'); \
	if [ -z "$$targets" ]; then echo "fuzz: no Fuzz functions found"; exit 0; fi; \
	for target in $$targets; do \
		pkg=$${target%,*}; fn=$${target#*,}; \
		echo "== fuzz $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) "$$pkg" || exit 1; \
	done

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
	$(GO) run ./internal/cmd/loadbench

lint:
	@files=$$($(GOFMT) -l .); \
	if [ -n "$$files" ]; then echo "gofmt -l: these files need gofmt -w:"; echo "$$files"; exit 1; fi
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(TOOL) staticcheck ./...

# govulncheck exits 3 when a vulnerability reaches called code, 1 or 2 on an
# error; make fails on any of them.
vuln:
	@test -f "$(STRONGROOM_VULNDB)/index/db.json" || \
		{ echo "vuln: no vulnerability database at $(STRONGROOM_VULNDB) (set STRONGROOM_VULNDB to its directory)"; exit 1; }
	$(TOOL) govulncheck -db "file://$$(realpath "$(STRONGROOM_VULNDB)")" ./...

run:
	$(GO) run ./cmd/strongroom serve

build:
	$(GO) build -o bin/strongroom ./cmd/strongroom

browser-deps:
	bash scripts/install-browser.sh

# Regenerates the console screenshots in docs/screenshots/ (desktop 1280x800
# and phone 390x844) by running the console's browser tests against a real
# server in headless Chromium.
screenshots:
	mkdir -p docs/screenshots
	STRONGROOM_SCREENSHOTS=$(CURDIR)/docs/screenshots STRONGROOM_REQUIRE_BROWSER=1 \
		$(GO) test -count=1 -run 'TestConsole|TestStartPage' ./web
