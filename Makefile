# acthist - one non-recursive Makefile.
#
#   make            library (static + shared), CLI, tests, and
#                   acthist-mpi-fit when mpicc is installed
#   make test       build and run the test suite
#   make test-san   the same tests under AddressSanitizer + UBSan (build-san/)
#   make test-tsan  the threaded tests under ThreadSanitizer (build-tsan/)
#   make fuzz-ci    each libFuzzer target for FUZZ_SECONDS (30) on its corpus
#   make check      what CI runs: deps, test, test-san, test-tsan, fuzz-ci
#   make bench      benchmarks (bench/)
#   make demo       the comparison on the bundled real activations
#   make install    library, header, pkg-config file, CLI (and the MPI fit
#                   when mpicc is there) and man page under
#                   PREFIX (default /usr/local; DESTDIR for staging)
#   make man        regenerate docs/acthist.1 from the CLI's help texts
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

# The MPI fit (mpi/) is built when an MPI compiler wrapper is installed
# (tools/install-deps.sh installs MPICH).
MPICC  ?= $(shell command -v mpicc 2>/dev/null)
MPI_FIT := $(if $(MPICC),$(BUILD)/acthist-mpi-fit)
CLI_LIB_OBJ := $(filter-out $(BUILD)/cli/main.o $(BUILD)/cli/cmd_%.o,$(CLI_OBJ))

# The shared library's soname carries the major version: an ABI break is a
# new major version (include/acthist.h).
VERSION := $(shell sed -n 's/^\#define AH_VERSION_STRING "\(.*\)"/\1/p' include/acthist.h)
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))
# The shared library exports the public ah_ calls only (a linker version
# script); the internal ah__ ones stay local to it.
EXPORTS := src/acthist.map

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
LDCONFIG   ?= ldconfig

# Installed programs find the library with no LD_LIBRARY_PATH: in a
# directory the dynamic linker searches (tools/libdir-searched.sh), after
# ldconfig has refreshed its cache (not with DESTDIR: a staged package runs
# it when it is installed); anywhere else through an rpath that acthist.pc
# adds to its Libs.
LDCONFIG_IF_SEARCHED = if tools/libdir-searched.sh $(LIBDIR); then $(LDCONFIG); fi

.PHONY: all test test-san check bench demo clean deps fuzz install uninstall man
all: $(STATIC) $(SHARED) $(CLI) $(TEST_BIN) $(MPI_FIT)

$(BUILD)/%.o: %.c include/acthist.h $(wildcard src/*.h) $(wildcard tests/*.h) $(wildcard cli/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(SHARED): $(LIB_OBJ) Makefile $(EXPORTS)
	$(CC) -shared -Wl,-soname,libacthist.so.$(SOMAJOR) -Wl,--version-script=$(EXPORTS) $(LDFLAGS) -o $@ $(LIB_OBJ) $(LDLIBS)

$(CLI): $(CLI_OBJ) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/acthist-mpi-fit: mpi/fit_mpi.c $(CLI_LIB_OBJ) $(STATIC) include/acthist.h cli/cli.h
	$(MPICC) $(ALLCFLAGS) -Icli $(LDFLAGS) -o $@ $< $(CLI_LIB_OBJ) $(STATIC) $(LDLIBS)

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

bench: $(STATIC) $(SHARED) $(CLI) $(MPI_FIT)
	./bench/run.sh $(BUILD)

demo: all
	$(CLI) demo

clean:
	rm -rf build build-san build-tsan build-fuzz

install: $(STATIC) $(SHARED) $(CLI) $(MPI_FIT)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	        $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/acthist
	$(if $(MPI_FIT),install -m 755 $(MPI_FIT) $(DESTDIR)$(BINDIR)/acthist-mpi-fit)
	install -m 644 include/acthist.h $(DESTDIR)$(INCLUDEDIR)/acthist.h
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/libacthist.a
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/libacthist.so.$(VERSION)
	ln -sf libacthist.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libacthist.so.$(SOMAJOR)
	ln -sf libacthist.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libacthist.so
	install -m 644 docs/acthist.1 $(DESTDIR)$(MANDIR)/man1/acthist.1
	if tools/libdir-searched.sh $(LIBDIR); then rpath=; \
	else rpath=' -Wl,-rpath,$${libdir}'; fi; \
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e "s|@RPATH@|$$rpath|" \
	    tools/acthist.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/acthist.pc
	$(if $(DESTDIR),,$(LDCONFIG_IF_SEARCHED))

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/acthist $(DESTDIR)$(BINDIR)/acthist-mpi-fit \
	      $(DESTDIR)$(INCLUDEDIR)/acthist.h \
	      $(DESTDIR)$(LIBDIR)/libacthist.a $(DESTDIR)$(LIBDIR)/libacthist.so \
	      $(DESTDIR)$(LIBDIR)/libacthist.so.$(SOMAJOR) \
	      $(DESTDIR)$(LIBDIR)/libacthist.so.$(VERSION) \
	      $(DESTDIR)$(MANDIR)/man1/acthist.1 $(DESTDIR)$(PKGCONFIGDIR)/acthist.pc
	$(if $(DESTDIR),,$(LDCONFIG_IF_SEARCHED))

man: $(CLI)
	./tools/make-man.sh $(CLI) >docs/acthist.1.tmp && mv docs/acthist.1.tmp docs/acthist.1

# libFuzzer targets (clang): build-fuzz/fuzz_npy, fuzz_model, fuzz_shard.
# Run with a scratch corpus first (libFuzzer writes new inputs into it):
#   mkdir -p /tmp/corpus && build-fuzz/fuzz_model /tmp/corpus fuzz/corpus/model -max_total_time=60
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -DAH_LIBFUZZER -Iinclude
fuzz:
	@mkdir -p build-fuzz
	clang $(FUZZ_FLAGS) -o build-fuzz/fuzz_npy fuzz/fuzz_npy.c $(LIB_SRC) -Isrc -lm -lpthread
	clang $(FUZZ_FLAGS) -o build-fuzz/fuzz_model fuzz/fuzz_model.c $(LIB_SRC) -Isrc -lm -lpthread
	clang $(FUZZ_FLAGS) -o build-fuzz/fuzz_shard fuzz/fuzz_shard.c $(LIB_SRC) -Isrc -lm -lpthread

# Allocation-failure injection (tests/cli/test_alloc_fail.sh): a test copy
# of the CLI whose allocations go through tests/cli/alloc_fail.c, where
# ACTHIST_FAIL_ALLOC=n makes the n-th one fail.  The library keeps no
# counter; the wrapper does, in the test program only.
ALLOCFAIL_CLI := $(BUILD)/acthist-allocfail
ALLOCFAIL_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=posix_memalign,--wrap=aligned_alloc,--wrap=strdup
all: $(ALLOCFAIL_CLI)
$(ALLOCFAIL_CLI): $(CLI_OBJ) $(BUILD)/tests/cli/alloc_fail.o $(STATIC)
	$(CC) $(LDFLAGS) $(ALLOCFAIL_WRAP) -o $@ $^ $(LDLIBS)

# ThreadSanitizer (make test-tsan, build-tsan/): one loaded model shared by
# threads (tests/test_threads_shared_model.c) and the unit tests that run
# the library's own threads, each ending with "N passed, N failed", then
# their total.  A race report fails the test (TSan exits 66).
TSAN ?= 0
ifeq ($(TSAN),1)
# GCC 12 at -O1 with TSan's instrumentation warns that pvalues.c's o[3] may
# be unset, which put_tail sets for AH_TAIL_BOTH, the only case it is read;
# the plain and ASan builds keep the warning.
ALLCFLAGS += -fsanitize=thread -fno-omit-frame-pointer -Wno-maybe-uninitialized
LDFLAGS   += -fsanitize=thread
endif
TSAN_TESTS := test_threads_shared_model test_scan_individual test_pvalue_paths \
              test_shard test_model test_load_threads
.PHONY: test-tsan
test-tsan:
	@mkdir -p build-tsan
	@$(MAKE) --no-print-directory BUILD=build-tsan TSAN=1 OPT=-O1 \
	    $(TSAN_TESTS:%=build-tsan/tests/%) >build-tsan/build.log 2>&1 || \
	    { cat build-tsan/build.log; exit 1; }
	@p=0; f=0; for t in $(TSAN_TESTS); do \
	    TSAN_OPTIONS="halt_on_error=1 $$TSAN_OPTIONS" build-tsan/tests/$$t \
	        >build-tsan/$$t.log 2>&1; rc=$$?; \
	    line=$$(grep -E '[0-9]+ passed, [0-9]+ failed' build-tsan/$$t.log | tail -n 1); \
	    tp=$$(echo "$$line" | sed -n 's/.* \([0-9]*\) passed.*/\1/p'); \
	    tf=$$(echo "$$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p'); \
	    tp=$${tp:-0}; tf=$${tf:-0}; \
	    if [ $$rc -ne 0 ] && [ $$tf -eq 0 ]; then tf=1; fi; \
	    if [ $$tf -ne 0 ]; then echo "---- $$t (exit $$rc)"; cat build-tsan/$$t.log; fi; \
	    echo "$$t (tsan): $$tp passed, $$tf failed"; \
	    p=$$((p + tp)); f=$$((f + tf)); \
	done; echo "$$p passed, $$f failed"; [ $$f -eq 0 ]

# make fuzz-ci: each libFuzzer target for FUZZ_SECONDS on its corpus (what
# CI runs, as a regression check; a long run is the same with a larger
# FUZZ_SECONDS).  The corpora are only read: new inputs go to
# build-fuzz/ci-TARGET/, a crashing input to build-fuzz/ci-TARGET-crash-*
# (add it to the corpus with the fix).  Ends with "N passed, N failed".
FUZZ_SECONDS ?= 30
.PHONY: fuzz-ci
fuzz-ci: fuzz
	@p=0; f=0; for t in npy model shard; do \
	    case $$t in npy) c=tests/data/npy ;; *) c=fuzz/corpus/$$t ;; esac; \
	    rm -rf build-fuzz/ci-$$t build-fuzz/ci-$$t-*; mkdir -p build-fuzz/ci-$$t; \
	    build-fuzz/fuzz_$$t build-fuzz/ci-$$t $$c -max_total_time=$(FUZZ_SECONDS) \
	        -timeout=30 -rss_limit_mb=2560 -print_final_stats=1 \
	        -artifact_prefix=build-fuzz/ci-$$t- >build-fuzz/ci-$$t.log 2>&1; \
	    rc=$$?; \
	    runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' build-fuzz/ci-$$t.log); \
	    if [ $$rc -eq 0 ]; then p=$$((p + 1)); \
	        echo "fuzz_$$t: $$runs runs in $(FUZZ_SECONDS) s, nothing found"; \
	    else f=$$((f + 1)); tail -n 60 build-fuzz/ci-$$t.log; \
	        echo "fuzz_$$t: exit $$rc, input in build-fuzz/ci-$$t-*"; fi; \
	done; echo "$$p passed, $$f failed"; [ $$f -eq 0 ]
