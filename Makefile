# Hetu: the two commands a user needs, and a few for developers.
#   make run    install what is missing, build, serve on 127.0.0.1:8000 (data in ./hetu-data/)
#   make test   install what is missing, lint, build, run every test, then again under ASan+UBSan
#               and under ThreadSanitizer
PYTHON ?= /usr/bin/python3
C_SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find src tests fuzz bench -name '*.[ch]')

.PHONY: all build run test lint format bench fuzz clean

all: build

build:
	@scripts/install-deps run
	@[ -f build/build.ninja ] || meson setup build >/dev/null
	@ninja -C build

run: build
	build/hetu serve

test:
	@scripts/install-deps test
	@$(MAKE) --no-print-directory lint
	@$(PYTHON) scripts/run-tests

lint:
	@clang-format --dry-run --Werror $(C_SOURCES) && echo "lint: clang-format clean"
	@scripts/check-size $(filter src/%,$(C_SOURCES))

format:
	@clang-format -i $(C_SOURCES)

bench:
	@scripts/install-deps bench
	@[ -f build/build.ninja ] || meson setup build >/dev/null
	@ninja -C build
	@bench/run all

# libFuzzer builds (clang); run one with: build-fuzz/fuzz/fuzz-NAME fuzz/corpus/NAME
fuzz:
	@scripts/install-deps test
	@[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	@ninja -C build-fuzz

clean:
	rm -rf build build-asan build-tsan build-fuzz
