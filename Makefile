# sundesk — the two commands are `make run` and `make test`.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CTEST_ARGS ?=
BUF := tools/buf/node_modules/.bin/buf

.PHONY: all deps configure build test test-unit test-integration test-e2e run bench lint buf-lint format clean

all: build

deps:
	@deploy/deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

configure: $(BUILD_DIR)/build.ninja

build: deps configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build buf-lint
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

test-unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit $(CTEST_ARGS)

test-integration: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L integration $(CTEST_ARGS)

test-e2e: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L e2e $(CTEST_ARGS)

run: build
	exec deploy/run-local.sh $(BUILD_DIR)

bench: build
	deploy/bench.sh $(BUILD_DIR)

buf-lint: deps
	$(BUF) lint proto

lint: deps configure buf-lint
	deploy/lint.sh $(BUILD_DIR)

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
