# acthist - one non-recursive Makefile.
#
#   make            library (static + shared), CLI, tests
#   make test       build and run the test suite
#   make test-san   the same tests under AddressSanitizer + UBSan (build-san/)
#   make bench      benchmarks (bench/)
#   make demo       the comparison on the bundled real activations
#
# Variable overrides select variants: BUILD=build-san SAN=1.

CC      ?= cc
BUILD   ?= build
SAN     ?= 0
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla
ALLCFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) $(CFLAGS) -Iinclude -fPIC
LDLIBS  := -lm -lpthread

ifeq ($(SAN),1)
ALLCFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS   += -fsanitize=address,undefined
endif

LIB_SRC  := $(sort $(wildcard src/*.c))
CLI_SRC  := $(sort $(wildcard cli/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_SUPPORT := $(filter-out $(TEST_SRC),$(wildcard tests/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
SUPPORT_OBJ := $(TEST_SUPPORT:%.c=$(BUILD)/%.o)

STATIC := $(BUILD)/libacthist.a
SHARED := $(BUILD)/libacthist.so
CLI    := $(BUILD)/acthist

.PHONY: all test test-san check bench demo clean deps fuzz
all: $(STATIC) $(SHARED) $(CLI) $(TEST_BIN)

$(BUILD)/%.o: %.c include/acthist.h $(wildcard src/*.h) $(wildcard tests/*.h) $(wildcard cli/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(CLI): $(CLI_OBJ) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(SUPPORT_OBJ) $(STATIC) include/acthist.h $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -Isrc $(LDFLAGS) -o $@ $< $(SUPPORT_OBJ) $(STATIC) $(LDLIBS)

# The test runner prints one line per suite and ends with "N passed, N failed".
test: all
	./tests/run.sh $(BUILD)

test-san:
	$(MAKE) BUILD=build-san SAN=1 OPT=-O1 test

# What CI runs: dependencies, the plain suite, then the sanitizer suite,
# ending with one line "N passed, N failed" for both.
check: deps
	@./tests/check.sh

deps:
	./tools/install-deps.sh

bench: $(STATIC) $(CLI)
	./bench/run.sh $(BUILD)

demo: all
	$(CLI) demo

clean:
	rm -rf build build-san

# libFuzzer targets (clang): build-fuzz/fuzz_npy, build-fuzz/fuzz_model.
# Run with a scratch corpus first (libFuzzer writes new inputs into it):
#   mkdir -p /tmp/corpus && build-fuzz/fuzz_model /tmp/corpus fuzz/corpus/model -max_total_time=60
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -DAH_LIBFUZZER -Iinclude
fuzz:
	@mkdir -p build-fuzz
	clang $(FUZZ_FLAGS) -o build-fuzz/fuzz_npy fuzz/fuzz_npy.c $(LIB_SRC) -Isrc -lm -lpthread
	clang $(FUZZ_FLAGS) -o build-fuzz/fuzz_model fuzz/fuzz_model.c $(LIB_SRC) -Isrc -lm -lpthread
