# corun — build, test, install.  `make help` lists the targets.

PREFIX   ?= /usr/local
LIBDIR   ?= $(PREFIX)/lib
MANDIR   ?= $(PREFIX)/share/man
# Where each shell looks for completions under PREFIX (Debian's zsh looks
# in share/zsh/vendor-completions: make deb says so).
BASH_COMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSH_COMPDIR  ?= $(PREFIX)/share/zsh/site-functions
FISH_COMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
DESTDIR  ?=
BUILD    ?= build
CC       ?= cc
PKG      ?= pkg-config
DEPS_PKGS = libuv libcjson
DEBS      = libuv1-dev libcjson-dev libcmocka-dev pkg-config
TEST_DEBS = python3 libxml2-utils python3-junitparser graphviz tmux zsh fish \
            bash-completion mandoc

SOVERSION = 1
VERSION   = 0.2.0

WARN = -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
       -Wvla -Wformat=2 -Wno-format-nonliteral
ifdef CI
WARN += -Werror
endif
ifdef WERROR
WARN += -Werror
endif

OPT ?= -O2 -g
ifdef SANITIZE
OPT = -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZE) -fno-sanitize-recover=all
endif

DEP_CFLAGS := $(shell $(PKG) --cflags $(DEPS_PKGS) 2>/dev/null)
DEP_LIBS   := $(shell $(PKG) --libs $(DEPS_PKGS) 2>/dev/null)
CMOCKA_CFLAGS := $(shell $(PKG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(shell $(PKG) --libs cmocka 2>/dev/null)

CFLAGS ?=
override CFLAGS += -std=c11 -D_GNU_SOURCE $(WARN) $(OPT) -Iinclude $(DEP_CFLAGS)
LDFLAGS ?=
LIB_CFLAGS = -fPIC -fvisibility=hidden

LIB_SRC = src/error.c src/buf.c src/svec.c src/utf8.c src/hash.c src/heap.c \
          src/duration.c src/load.c src/load_check.c src/load_file.c \
          src/json_scan.c src/plan.c src/halt.c \
          src/sched.c src/launch.c src/launch_local.c src/launch_watch.c \
          src/orphans.c src/watchdog.c src/run.c src/run_runner.c src/lines.c \
          src/sink.c src/sink_tail.c src/sink_log.c src/sink_lines.c src/sink_callbacks.c \
          src/sink_events.c src/sink_spans.c src/sink_file.c src/json_write.c \
          src/xml.c src/report.c src/junit.c src/trace.c src/timeline.c
CLI_SRC = src/cli/main.c src/cli/args.c src/cli/inspect.c src/cli/output.c \
          src/cli/group.c src/cli/summary.c src/cli/status.c src/cli/feed.c

LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ = $(CLI_SRC:%.c=$(BUILD)/%.o)

TESTS = test_duration test_load test_plan test_sched test_run_sched test_run_process test_run_output test_run_stop test_run_halt test_run_cancel test_run_api test_cli test_bad test_launch test_writers test_run_open test_stream
TEST_BINS = $(TESTS:%=$(BUILD)/tests/%)
HELPER = $(BUILD)/tests/helper

all: $(BUILD)/corun corun $(BUILD)/libcorun.a $(BUILD)/libcorun.so

corun: $(BUILD)/corun
	cp $< $@

$(BUILD)/corun: $(CLI_OBJ) $(BUILD)/libcorun.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libcorun.a $(DEP_LIBS) $(LDFLAGS)

$(BUILD)/libcorun.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/libcorun.so: $(LIB_OBJ)
	$(CC) $(CFLAGS) -shared -Wl,-soname,libcorun.so.$(SOVERSION) -o $@ $^ $(DEP_LIBS) $(LDFLAGS)

$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc $(LIB_CFLAGS) -MMD -MP -c -o $@ $<

# The command line sees include/corun.h and nothing else of the library.
$(BUILD)/src/cli/%.o: src/cli/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc $(CMOCKA_CFLAGS) -MMD -MP -c -o $@ $<

$(HELPER): $(BUILD)/tests/helper.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS)

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(BUILD)/tests/testutil.o $(BUILD)/tests/run_harness.o $(BUILD)/libcorun.a
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/tests/testutil.o $(BUILD)/tests/run_harness.o $(BUILD)/libcorun.a $(DEP_LIBS) $(CMOCKA_LIBS) $(LDFLAGS)

# Each suite runs with the built binary and helper named in its environment.
check test: all $(TEST_BINS) $(HELPER)
	@fail=0; for t in $(TESTS); do \
	  echo "== $$t"; \
	  CORUN_BIN=$(CURDIR)/$(BUILD)/corun CORUN_HELPER=$(CURDIR)/$(HELPER) \
	  CORUN_SRC=$(CURDIR) $(TEST_WRAP) $(BUILD)/tests/$$t || fail=1; \
	done; \
	echo "== embed (installed library, pkg-config only)"; \
	bash tests/embed/run.sh $(BUILD) "$(if $(SANITIZE),-fsanitize=$(SANITIZE))" || fail=1; \
	echo "== ui (status line in a terminal, summary, timeline, completions, man page)"; \
	bash tests/ui/run.sh $(BUILD) || fail=1; \
	exit $$fail

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan:
	$(MAKE) BUILD=build-asan SANITIZE=address,undefined test

# The CLI suite with corun itself under valgrind memcheck; valgrind's
# reports are kept in $(BUILD)/valgrind/ and any error fails the run.
test-valgrind: all $(BUILD)/tests/test_cli $(HELPER)
	rm -rf $(BUILD)/valgrind
	CORUN_BIN=$(CURDIR)/tests/valgrind-corun.sh CORUN_REAL_BIN=$(CURDIR)/$(BUILD)/corun \
	  CORUN_VALGRIND_LOGS=$(CURDIR)/$(BUILD)/valgrind CORUN_UNDER_VALGRIND=1 \
	  CORUN_HELPER=$(CURDIR)/$(HELPER) CORUN_SRC=$(CURDIR) $(BUILD)/tests/test_cli
	@if grep -lE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]' $(BUILD)/valgrind/*.log; then \
	  echo "valgrind found errors (logs above)"; exit 1; \
	else echo "valgrind: $$(ls $(BUILD)/valgrind | wc -l) corun runs, no errors"; fi

# The build's packages, and what the test suite drives: real consumers of
# every file corun writes (xmllint, junitparser, Graphviz), a terminal
# (tmux), the shells its completions are for, a man page linter.
deps:
	@missing=""; for p in $(DEBS) $(TEST_DEBS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all found"; else \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(BUILD)/corun $(DESTDIR)$(PREFIX)/bin/corun
	install -m 644 $(BUILD)/libcorun.a $(DESTDIR)$(LIBDIR)/libcorun.a
	install -m 755 $(BUILD)/libcorun.so $(DESTDIR)$(LIBDIR)/libcorun.so.$(VERSION)
	ln -sf libcorun.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libcorun.so.$(SOVERSION)
	ln -sf libcorun.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libcorun.so
	install -m 644 include/corun.h $(DESTDIR)$(PREFIX)/include/corun.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${exec_prefix}/%,$(LIBDIR))|' \
	  -e 's|@VERSION@|$(VERSION)|' \
	  corun.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/corun.pc
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASH_COMPDIR) $(DESTDIR)$(ZSH_COMPDIR) \
	  $(DESTDIR)$(FISH_COMPDIR)
	install -m 644 src/cli/corun.1 $(DESTDIR)$(MANDIR)/man1/corun.1
	install -m 644 src/cli/completions/corun.bash $(DESTDIR)$(BASH_COMPDIR)/corun
	install -m 644 src/cli/completions/_corun $(DESTDIR)$(ZSH_COMPDIR)/_corun
	install -m 644 src/cli/completions/corun.fish $(DESTDIR)$(FISH_COMPDIR)/corun.fish

clean:
	rm -rf $(BUILD) corun

help:
	@echo "make [all]   build corun, libcorun.a, libcorun.so into $(BUILD)/"
	@echo "make deps    install libuv, cJSON and cmocka from Debian when missing"
	@echo "make test    build and run the cmocka suites (SANITIZE=address,undefined for sanitizers)"
	@echo "make test-asan, test-valgrind, fuzz, stress"
	@echo "make slurm-up, test-slurm, slurm-down   a one-node Slurm cluster for the Slurm executor (root)"
	@echo "make bench   corun against references and peers (BENCH_QUICK=1 for a smoke run)"
	@echo "make install PREFIX=/usr/local DESTDIR="
	@echo "make deb     Debian packages corun, libcorun1, libcorun-dev in $(BUILD)/deb/; deb-test installs and tries them"
	@echo "make clean"

.PHONY: all check test test-asan test-valgrind deps install clean help

# Benchmarks and fuzzing keep their rules beside their sources.
-include tests/bench/bench.mk
-include tests/fuzz/fuzz.mk
-include tests/stress/stress.mk
-include src/cli/deb.mk
-include tests/slurm/slurm.mk

-include $(shell find $(BUILD) -type f -name '*.d' 2>/dev/null)
