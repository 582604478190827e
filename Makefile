# sockit - plain GNU Makefile with automatic header dependencies.
#
#   make            build/sockit and build/libsockit.a (optimised)
#   make test       deps, then unit + integration tests under ASan/UBSan (make -j2 test:
#                   parallel builds; integration tests INTEGRATION_JOBS=4 at a time)
#   make demo       deps, build, then the model comparison tour
#   make install    PREFIX=/usr/local DESTDIR=
#   make fuzz       libFuzzer targets (clang), FUZZ_SECONDS each; fails on any finding
#   make fuzz-smoke every target for 10 s after a self-test of the harness (CI)
#   make format     clang-format -i over the sources
#   make tsan       thread models under ThreadSanitizer

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
PYTHON  ?= /usr/bin/python3
FUZZ_SECONDS ?= 20
# One version, the one `sockit --version` prints.
VERSION := $(shell sed -n 's/^\#define SK_VERSION "\(.*\)"/\1/p' src/cli/cli.h)

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral
ifeq ($(CI),true)
WERROR  ?= 1
endif
ifeq ($(WERROR),1)
WARN    += -Werror
endif

URING   := $(shell pkg-config --exists liburing 2>/dev/null && echo 1)
ifeq ($(URING),1)
URING_CFLAGS := -DSK_HAVE_URING $(shell pkg-config --cflags liburing)
URING_LIBS   := $(shell pkg-config --libs liburing)
endif

# OpenSSL 3 (TLS) is required; scripts/deps.sh installs libssl-dev.
SSL_CFLAGS := $(shell pkg-config --cflags openssl 2>/dev/null)
SSL_LIBS   := $(shell pkg-config --libs openssl 2>/dev/null || echo -lssl -lcrypto)

BASE_CFLAGS := -std=c17 -D_GNU_SOURCE -Iinclude -Isrc $(WARN) $(URING_CFLAGS) $(SSL_CFLAGS) \
               -MMD -MP -pthread
LIBS        := $(URING_LIBS) $(SSL_LIBS) -pthread -lm

LIB_SRC := $(sort $(wildcard src/net/*.c src/service/*.c src/model/*.c src/client/*.c \
                             src/tool/*.c src/bench/*.c src/tls/*.c))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))

# Variants: release (build/) and sanitized (build/asan/).
REL_DIR  := build
ASAN_DIR := build/asan
TSAN_DIR := build/tsan
REL_CFLAGS  := $(BASE_CFLAGS) -O2 -g
# float-cast-overflow: gcc leaves it out of "undefined" (the corpus replay must
# catch what the clang fuzz build does, e.g. a double out of uint64_t's range).
ASAN_CFLAGS := $(BASE_CFLAGS) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fsanitize=float-cast-overflow -fno-sanitize-recover=all
TSAN_CFLAGS := $(BASE_CFLAGS) -O1 -g -fsanitize=thread

objs = $(patsubst src/%.c,$(1)/obj/%.o,$(2))

.PHONY: all test unit integration demo install uninstall clean format format-check fuzz fuzz-replay fuzz-smoke \
        fuzz-bins test-bins \
        deps tsan tsan-unit bench check-ci check-layers
.DEFAULT_GOAL := all

all: $(REL_DIR)/sockit $(REL_DIR)/libsockit.a

# ---- release ----
$(REL_DIR)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) $(CFLAGS) -c $< -o $@
$(REL_DIR)/libsockit.a: $(call objs,$(REL_DIR),$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^
$(REL_DIR)/sockit: $(call objs,$(REL_DIR),$(CLI_SRC)) $(REL_DIR)/libsockit.a
	$(CC) $(REL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# The chat's web page is embedded by the assembler (.incbin, chat_page.c).
$(foreach d,$(REL_DIR) $(ASAN_DIR) $(TSAN_DIR) $(FUZZ_DIR),$(d)/obj/service/chat_page.o): \
	src/service/chat_page.html

# The head parsers fed a 32 KiB head one byte at a time (docs/BENCHMARKS.md).
$(REL_DIR)/parse_trickle: bench/parse_trickle.c $(REL_DIR)/libsockit.a
	$(CC) $(REL_CFLAGS) -o $@ $< $(REL_DIR)/libsockit.a $(LIBS)

# ---- AddressSanitizer + UndefinedBehaviorSanitizer ----
$(ASAN_DIR)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) $(CFLAGS) -c $< -o $@
$(ASAN_DIR)/libsockit.a: $(call objs,$(ASAN_DIR),$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^
$(ASAN_DIR)/sockit: $(call objs,$(ASAN_DIR),$(CLI_SRC)) $(ASAN_DIR)/libsockit.a
	$(CC) $(ASAN_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)
$(ASAN_DIR)/tests/%: tests/unit/%.c $(ASAN_DIR)/libsockit.a
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -Itests/unit -o $@ $< $(ASAN_DIR)/libsockit.a -lcmocka $(LIBS)
$(ASAN_DIR)/fuzz/%: fuzz/%.c fuzz/replay.c $(ASAN_DIR)/libsockit.a
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -o $@ $< fuzz/replay.c $(ASAN_DIR)/libsockit.a $(LIBS)

# ---- ThreadSanitizer (thread and pool models) ----
$(TSAN_DIR)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(TSAN_CFLAGS) $(CFLAGS) -c $< -o $@
$(TSAN_DIR)/libsockit.a: $(call objs,$(TSAN_DIR),$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^
$(TSAN_DIR)/sockit: $(call objs,$(TSAN_DIR),$(CLI_SRC)) $(TSAN_DIR)/libsockit.a
	$(CC) $(TSAN_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)
$(TSAN_DIR)/tests/%: tests/unit/%.c $(TSAN_DIR)/libsockit.a
	@mkdir -p $(dir $@)
	$(CC) $(TSAN_CFLAGS) -Itests/unit -o $@ $< $(TSAN_DIR)/libsockit.a -lcmocka $(LIBS)

# ---- libFuzzer (clang): every sanitizer report is fatal, so it is a finding ----
FUZZ_CC     ?= clang
FUZZ_DIR    := build/fuzz
FUZZ_CFLAGS := $(BASE_CFLAGS) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=all
$(FUZZ_DIR)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_DIR)/libsockit.a: $(call objs,$(FUZZ_DIR),$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^
$(FUZZ_DIR)/bin/%: fuzz/%.c $(FUZZ_DIR)/libsockit.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_DIR)/libsockit.a $(LIBS)
# The harness's self-test targets (fuzz/selftest/): planted bugs, no library.
$(FUZZ_DIR)/selftest/%: fuzz/selftest/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $<
FUZZ_TARGETS ?= $(patsubst fuzz/%.c,%,$(FUZZ_SRC))
fuzz-bins: $(patsubst %,$(FUZZ_DIR)/bin/%,$(FUZZ_TARGETS))

UNIT_BINS := $(patsubst tests/unit/%.c,$(ASAN_DIR)/tests/%,$(UNIT_SRC))
FUZZ_BINS := $(patsubst fuzz/%.c,$(ASAN_DIR)/fuzz/%,$(FUZZ_SRC))
# Unit tests that drive the thread models (the spawn reaper thread, the lookup
# threads) also run under ThreadSanitizer.
TSAN_UNIT := $(TSAN_DIR)/tests/test_hub $(TSAN_DIR)/tests/test_spawn $(TSAN_DIR)/tests/test_resolve_async

export ASAN_OPTIONS := abort_on_error=0:halt_on_error=1:detect_leaks=1:exitcode=86
export UBSAN_OPTIONS := halt_on_error=1:print_stacktrace=1:exitcode=87

deps:
	@scripts/deps.sh

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

fuzz-replay: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_BINS); do n=$$(basename $$t); \
	  echo "== $$n corpus"; $$t fuzz/corpus/$${n#fuzz_}; done

tsan-unit: $(TSAN_UNIT)
	@set -e; for t in $(TSAN_UNIT); do echo "== $$t (ThreadSanitizer)"; \
	  TSAN_OPTIONS=halt_on_error=1:exitcode=66 $$t; done

# The integration tests mostly wait on servers, so INTEGRATION_JOBS of them
# run at once (pytest-xdist); tests that share a fixed resource (a well-known
# port) carry one xdist_group and run one after another on one worker; those
# marked `serial` (timing, or load on the whole machine) run afterwards,
# alone. INTEGRATION_JOBS=0: everything in one process.
INTEGRATION_JOBS ?= 4
PYTEST := SOCKIT=$(abspath $(ASAN_DIR)/sockit) SOCKIT_RELEASE=$(abspath $(REL_DIR)/sockit) \
	  SOCKIT_TSAN=$(abspath $(TSAN_DIR)/sockit) $(PYTHON) -m pytest -q -rs -p no:cacheprovider
integration: $(ASAN_DIR)/sockit $(REL_DIR)/sockit $(TSAN_DIR)/sockit docs/sockit.1
ifeq ($(INTEGRATION_JOBS),0)
	$(PYTEST) tests/integration $(PYTEST_ARGS)
else
	$(PYTEST) -n $(INTEGRATION_JOBS) --dist loadgroup -m 'not serial' tests/integration $(PYTEST_ARGS)
	$(PYTEST) -m serial tests/integration $(PYTEST_ARGS) || [ $$? -eq 5 ] # 5: none marked
endif

# Everything the tests run is built first (in parallel under make -j2),
# then the stages run one after another.
TEST_BINS := $(UNIT_BINS) $(FUZZ_BINS) $(TSAN_UNIT) $(ASAN_DIR)/sockit $(REL_DIR)/sockit \
             $(TSAN_DIR)/sockit docs/sockit.1
test-bins: $(TEST_BINS)

test: deps
	@$(MAKE) --no-print-directory test-bins
	@$(MAKE) --no-print-directory check-layers
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory fuzz-replay
	@$(MAKE) --no-print-directory tsan-unit
	@$(MAKE) --no-print-directory integration

# A service includes no model or server header; the net core nothing above it.
check-layers:
	@scripts/check-layers.sh

tsan: $(TSAN_DIR)/sockit tsan-unit

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

bench: all
	@bench/compare.sh

fuzz:
	@scripts/fuzz.sh $(FUZZ_SECONDS)

fuzz-smoke:
	@FUZZ_JOBS=$${FUZZ_JOBS:-2} scripts/fuzz.sh --selftest 10

MAN_PARTS := $(sort $(wildcard docs/man/*.roff))
docs/sockit.1: $(MAN_PARTS)
	cat $(MAN_PARTS) > $@

all: docs/sockit.1

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/include/sockit $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(REL_DIR)/sockit $(DESTDIR)$(PREFIX)/bin/sockit
	install -m 644 $(REL_DIR)/libsockit.a $(DESTDIR)$(PREFIX)/lib/libsockit.a
	install -m 644 include/sockit/*.h $(DESTDIR)$(PREFIX)/include/sockit/
	install -m 644 docs/sockit.1 $(DESTDIR)$(PREFIX)/share/man/man1/sockit.1
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions
	$(REL_DIR)/sockit completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/sockit
	$(REL_DIR)/sockit completion zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_sockit
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBS@|$(LIBS)|' -e 's|@VERSION@|$(VERSION)|' sockit.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/sockit.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/sockit $(DESTDIR)$(PREFIX)/lib/libsockit.a \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/sockit.pc $(DESTDIR)$(PREFIX)/share/man/man1/sockit.1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/sockit \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_sockit
	rm -rf $(DESTDIR)$(PREFIX)/include/sockit

FORMAT_SRC = $$(find src include tests/unit fuzz bench -name '*.[ch]')
format:
	clang-format -i $(FORMAT_SRC)

# CI: the tree is as `make format` leaves it (clang-format --dry-run names
# each file and line that would change).
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf build

# docs/sockit.1 is generated from docs/man/*.roff (one part per command group).

-include $(shell find build -name '*.d' 2>/dev/null)
