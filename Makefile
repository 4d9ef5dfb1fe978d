# newsd: the two commands a newcomer needs are `make demo` and `make test`. Everything installs itself.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# Ninja when it is installed, asked in the recipe (deps.sh build installs it, so on a fresh machine it
# appears only after make has started); a configured build tree keeps the generator it has.
gen = $$(test -f $(1)/CMakeCache.txt || ! command -v ninja >/dev/null 2>&1 || echo -G Ninja)
BUILD := build
ASAN := build-asan
FUZZ := build-fuzz

.PHONY: all deps deps-build configure build asan fuzz demo test bench release clean format

all: build

# Two groups of packages (scripts/deps.sh): `build` compiles newsd and runs the demo; `test` adds
# the test, fuzz and broker toolchain, which only the test targets install.
deps:
	@./scripts/deps.sh test

deps-build:
	@./scripts/deps.sh build

configure: deps-build
	@cmake -S . -B $(BUILD) $(call gen,$(BUILD)) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DNEWSD_ASAN_DIR=$(CURDIR)/$(ASAN) -DNEWSD_FUZZ_DIR=$(CURDIR)/$(FUZZ) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# The demo needs the newsd binary only, not the tests and benchmarks.
demo: configure
	@cmake --build $(BUILD) -j $(JOBS) --target newsd
	./$(BUILD)/newsd demo

# The Release build the container image and packagers use, installed into build-release/root.
release: deps-build
	@./scripts/build-release.sh $(CURDIR)/build-release/root $(CURDIR)/build-release

asan: deps
	@cmake -S . -B $(ASAN) $(call gen,$(ASAN)) -DCMAKE_BUILD_TYPE=Debug -DNEWSD_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)

fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ) $(call gen,$(FUZZ)) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNEWSD_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ) -j $(JOBS)

# One ctest run: unit tests, integration tests against a real Kafka broker, the same two suites built
# with ASan+UBSan, and a short run of every fuzz harness. It ends with ctest's summary. Integration
# tests mostly wait on servers and timers, so one more job than cores keeps both cores busy.
test: deps build asan fuzz
	@cd $(BUILD) && ctest --output-on-failure -j $$(( $(JOBS) + 1 ))

bench: build
	@for b in $(BUILD)/bench/bench_*; do [ -x "$$b" ] && echo "== $$b" && "$$b"; done; true

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ) build-release
