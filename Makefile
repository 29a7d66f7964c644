# sealbid: thin wrapper over CMake. Every entry point first makes sure the
# Debian packages are installed (scripts/install-deps.sh is idempotent).
#
#   make            build into build/ (binaries in build/bin/)
#   make test       unit + integration tests, then a short fuzz run
#   make test SANITIZE=1   the same suite under ASan/UBSan (build-asan/)
#   make test NO_FUZZ=1    without the short fuzz run
#   make test-valgrind     the unit test programs under valgrind memcheck
#   make demo       the whole local story on this machine (the auction, then demo-collab)
#   make demo-collab  the join-aggregate story alone (scripts/demo-collab.sh)
#   make bench      benchmarks (ratios against this machine's limits)
#   make fuzz       libFuzzer targets with clang (build-fuzz/)
#   make fuzz-campaign  every target for FUZZ_CAMPAIGN_SECS (600) s, two at a time
#   make enclave-static the enclave image's root file system, reproducibly (build-static/)

JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECS ?= 10

ifeq ($(SANITIZE),1)
BUILD      ?= build-asan
CMAKE_OPTS += -DSANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug
# The image tests build their own static, uninstrumented enclaves: the plain
# run covers them, and under ASan they would only repeat that build.
CTEST_ARGS += -LE image
else
BUILD      ?= build
endif

.PHONY: all deps build test unit demo demo-collab bench fuzz fuzz-smoke clean format test-valgrind

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_OPTS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)
ifneq ($(NO_FUZZ),1)
	@$(MAKE) --no-print-directory fuzz-smoke
endif

# Memcheck over every unit program (ctest -L unit): fails on any memcheck
# error or definite leak (--error-exitcode=1). Plain build, not build-asan.
test-valgrind: build
	@bash scripts/test-valgrind.sh $(BUILD)

demo: build
	@$(BUILD)/bin/sealbid demo
	@$(BUILD)/bin/sealbid demo --collab

demo-collab: build
	@$(BUILD)/bin/sealbid demo --collab

bench: build
	@SB_BIN=$(CURDIR)/$(BUILD)/bin bash bench/run.sh

fuzz: deps
	@cmake -S . -B build-fuzz -DSB_FUZZ=ON -DCMAKE_C_COMPILER=clang \
		-DSANITIZE=address,undefined -DSB_WERROR=OFF >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

# A short libFuzzer run of every target, seeded from its corpus.
fuzz-smoke: fuzz
	@set -e; for t in build-fuzz/bin/fuzz_*; do \
		[ -x "$$t" ] || continue; n=$$(basename $$t); \
		case $$n in *_replay) continue;; esac; \
		mkdir -p build-fuzz/corpus/$$n; \
		seeds=tests/fuzz/corpus/$$n; [ -d $$seeds ] || seeds=; \
		echo "fuzz-smoke: $$n for $(FUZZ_SECS)s"; \
		$$t -max_total_time=$(FUZZ_SECS) -print_final_stats=0 \
			build-fuzz/corpus/$$n $$seeds >build-fuzz/$$n.log 2>&1 || \
			{ tail -40 build-fuzz/$$n.log; exit 1; }; \
	done; echo "fuzz-smoke: all targets ran clean"

# The long runs whose figures docs/SECURITY.md records (issue 10).
FUZZ_CAMPAIGN_SECS ?= 600
.PHONY: fuzz-campaign
fuzz-campaign: fuzz
	@bash tests/fuzz/campaign.sh -t $(FUZZ_CAMPAIGN_SECS) -p 2

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz build-static

# The enclave image's root file system: static curl/OpenSSL/jansson,
# rootfs.tar, rootfs-manifest.txt and SHA256SUMS in build-static/
# (docs/DEPLOY.md "Building the enclave image and checking its PCRs").
.PHONY: enclave-static
enclave-static: deps
	@JOBS=$(JOBS) bash scripts/build-enclave-static.sh build-static
