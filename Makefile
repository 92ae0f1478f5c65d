# aigw — build, test, run, bench, fuzz.
#
#   make          build BPF objects, skeletons, build/aigwd and build/aigwctl
#   make run      build and run the daemon in the foreground with the repo's config
#   make test     build and run every test (unit, sanitizer unit, DLP corpus,
#                 integration, fuzz
#                 smoke, e2e)
#   make bench    benchmarks (not tests)
#   make fuzz     long fuzzing runs (FUZZ_SECONDS per target)
#   make deps     install missing Debian packages (idempotent; called by the above)
#   make vmlinux  regenerate vmlinux/vmlinux.h from the running kernel's BTF
#   make install  install into $(DESTDIR)$(PREFIX) (binaries, unit, man pages...)
#   make demo     see it work in five minutes (root; a fake provider, no network)
#   make V=1      show the commands

BUILD   := build
GEN     := $(BUILD)/gen
CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool

ifeq ($(V),1)
Q :=
else
Q := @
endif

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

# Debian packages the build and the tests need. nodejs/npm are only installed
# when no node is on the machine already. prometheus brings promtool (metrics
# and rules checks), chromium the status page's browser test, debhelper,
# fakeroot and dpkg-dev the .deb, systemd systemd-analyze, logrotate and
# bash-completion the packaging checks.
DEB_PKGS := clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libssl-dev \
	libcjson-dev libcmocka-dev libvectorscan-dev libnl-3-dev libnl-idiag-3-dev \
	pkg-config gcc make openssl ca-certificates curl iproute2 python3 \
	python3-requests wrk nginx-light procps libhiredis-dev redis-server \
	prometheus chromium debhelper fakeroot dpkg-dev systemd logrotate bash-completion
DEPS_STAMP := $(BUILD)/.deps-ok

WARN    := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2
CFLAGS  ?= -O2 -g
# userspace/ is layered in folders (core, kernel, tls, http, provider, proxy,
# pipeline, accounting, policy, control); every folder is on the include path,
# so a header is named by its file name alone.
SRC_DIRS := $(shell find userspace -type d)
INCLUDES := $(addprefix -I,$(SRC_DIRS)) -Ibpf -I$(GEN)
HEADERS  := $(shell find userspace -name '*.h') bpf/aigw_maps.h
CFLAGS  += -std=gnu11 $(WARN) -D_GNU_SOURCE $(INCLUDES) -pthread -MMD -MP
LDLIBS  := -lbpf -lelf -lz -lssl -lcrypto -lcjson -lnl-idiag-3 -lnl-3 -lhs -lhiredis -lpthread -lm

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(GEN)/%.skel.h,$(BPF_SRCS))

MAINS     := userspace/aigwd.c userspace/aigwctl.c
LIB_SRCS  := $(filter-out $(MAINS),$(shell find userspace -name '*.c' | sort))
LIB_OBJS  := $(patsubst userspace/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LIB       := $(BUILD)/libaigw.a

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
# The kernel programs' own tests (root): the real skeleton, real sockets.
BPFT_SRCS := $(wildcard tests/bpf/test_*.c)
BPFT_BINS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(BPFT_SRCS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

# Sanitizer build of the library and unit tests (ASan + UBSan).
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_OBJS  := $(patsubst userspace/%.c,$(BUILD)/san/obj/%.o,$(LIB_SRCS))
SAN_LIB   := $(BUILD)/san/libaigw.a
SAN_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/san/tests/%,$(UNIT_SRCS))

# Integration tests: cmocka programs that drive a module against a real
# outside service the test starts itself (redis-server); built and run with
# ASan + UBSan only.
INTEG_SRCS := $(wildcard tests/integration/test_*.c)
INTEG_BINS := $(patsubst tests/integration/%.c,$(BUILD)/san/integration/%,$(INTEG_SRCS))

# libFuzzer targets: built with clang, ASan + UBSan.
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_OBJS  := $(patsubst userspace/%.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS))
FUZZ_LIB   := $(BUILD)/fuzz/libaigw.a
FUZZ_CFLAGS := -O1 -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE \
	$(INCLUDES) -fsanitize=fuzzer-no-link,address,undefined
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 10

CONFIG ?= $(CURDIR)/policies

# The release (VERSION) and commit, fixed into the binaries through a
# generated header that changes only when they do.
AIGW_VERSION ?= $(shell cat VERSION)
AIGW_COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
VERSION_H := $(GEN)/aigw_version.h
# The status page, as a C string literal (one quoted line per HTML line).
PAGE_INC := $(GEN)/status_page.inc

.SECONDARY:

.PHONY: FORCE all deps install uninstall packaging demo e2e-deps run test unit unit-san bpf-test \
	dlp-corpus integration fuzz-smoke fuzz e2e e2e-asan bench vmlinux clean

all: $(BUILD)/aigwd $(BUILD)/aigwctl

deps: $(DEPS_STAMP)

# AIGW_NO_DEPS=1 (package builds): the build dependencies are the
# packager's business; never call apt-get.
$(DEPS_STAMP): Makefile
	$(Q)mkdir -p $(BUILD)
	$(Q)[ "$(AIGW_NO_DEPS)" = 1 ] && exit 0; missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: missing Debian packages:$$missing (run as root to install them)" >&2; exit 1; fi; \
		echo "make deps: installing$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing || exit 1; \
	fi
	$(Q)touch $@

vmlinux: deps
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

# --- BPF -------------------------------------------------------------------

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c bpf/*.h bpf/lib/*.h vmlinux/vmlinux.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  BPF     $@"
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		-Ivmlinux -Ibpf -c $< -o $@
	$(Q)llvm-strip -g $@ 2>/dev/null || true

# Keep BTF (-g is stripped of DWARF only by llvm-strip -g, BTF stays).
$(GEN)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	@mkdir -p $(@D)
	@echo "  SKEL    $@"
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

# --- userspace -------------------------------------------------------------

$(VERSION_H): FORCE
	@mkdir -p $(@D)
	$(Q)printf '#define AIGW_VERSION_STRING "%s"\n#define AIGW_COMMIT_STRING "%s"\n' \
		'$(AIGW_VERSION)' '$(AIGW_COMMIT)' > $@.tmp
	$(Q)cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(PAGE_INC): userspace/accounting/status_page.html
	@mkdir -p $(@D)
	$(Q)sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $< > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: userspace/%.c $(HEADERS) | $(BPF_SKELS) $(VERSION_H) $(PAGE_INC) $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/aigwd: userspace/aigwd.c $(LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/aigwctl: userspace/aigwctl.c $(LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

# --- unit tests (cmocka) ---------------------------------------------------

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(@D)
	@echo "  TEST    $@"
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(LIB) $(LDLIBS) -lcmocka -o $@

$(BUILD)/san/obj/%.o: userspace/%.c $(HEADERS) | $(BPF_SKELS) $(VERSION_H) $(PAGE_INC)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -O1 $(SAN_FLAGS) -c $< -o $@

$(SAN_LIB): $(SAN_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/san/tests/%: tests/unit/%.c $(SAN_LIB)
	@mkdir -p $(@D)
	@echo "  TESTSAN $@"
	$(Q)$(CC) $(CFLAGS) -O1 $(SAN_FLAGS) -Itests/unit $< $(SAN_LIB) $(LDLIBS) -lcmocka -o $@

# The DLP corpus: precision and recall per detector (tests/dlp/dlp_corpus.c).
DLP_CORPUS := $(BUILD)/tests/dlp_corpus

$(DLP_CORPUS): tests/dlp/dlp_corpus.c $(LIB)
	@mkdir -p $(@D)
	@echo "  TEST    $@"
	$(Q)$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) -o $@

dlp-corpus: $(DLP_CORPUS)
	$(Q)$(DLP_CORPUS) tests/dlp/corpus
$(BUILD)/san/integration/%: tests/integration/%.c $(SAN_LIB)
	@mkdir -p $(@D)
	@echo "  INTEG   $@"
	$(Q)$(CC) $(CFLAGS) -O1 $(SAN_FLAGS) -Itests/unit $< $(SAN_LIB) $(LDLIBS) -lcmocka -o $@

unit: $(UNIT_BINS)
	$(Q)tests/run_suite.sh unit $(UNIT_BINS)

$(BUILD)/tests/bpf/%: tests/bpf/%.c tests/bpf/*.h $(LIB)
	@mkdir -p $(@D)
	@echo "  TEST    $@"
	$(Q)$(CC) $(CFLAGS) -Itests/bpf $< $(LIB) $(LDLIBS) -lcmocka -o $@

# Each binary makes its own network namespace, cgroups and pin dir, and
# skips with the reason without root or BPF.
bpf-test: $(BPFT_BINS)
	$(Q)tests/run_suite.sh bpf $(BPFT_BINS)

unit-san: $(SAN_BINS)
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/run_suite.sh unit-san $(SAN_BINS)

integration: $(INTEG_BINS)
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/run_suite.sh integration $(INTEG_BINS)

# --- fuzzing (libFuzzer) ---------------------------------------------------

$(BUILD)/fuzz/obj/%.o: userspace/%.c $(HEADERS) | $(BPF_SKELS) $(VERSION_H) $(PAGE_INC)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(@D)
	@echo "  FUZZ    $@"
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB) $(LDLIBS) -o $@

fuzz-smoke: $(FUZZ_BINS)
	$(Q)$(if $(FUZZ_BINS),tests/fuzz/run.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_BINS),echo "fuzz: no targets")

fuzz: $(FUZZ_BINS)
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# --- end to end (root, real kernel) ----------------------------------------

# The official provider SDKs for the e2e clients, pinned by package-lock.json.
NODE_STAMP := tests/e2e/node/node_modules/.package-lock.json

$(NODE_STAMP): tests/e2e/node/package.json tests/e2e/node/package-lock.json | $(DEPS_STAMP)
	$(Q)cd tests/e2e/node && npm ci --no-audit --no-fund --loglevel=error

e2e-deps: $(NODE_STAMP)

e2e: all $(NODE_STAMP)
	$(Q)tests/e2e/run.sh

# make install's layout, the unit, logrotate, completion, man pages, the .deb.
packaging: all
	$(Q)/usr/bin/python3 tests/packaging/run.py

# The daemon built with ASan + UBSan, for the e2e-asan stage of make test.
SAN_AIGWD := $(BUILD)/san/aigwd

$(SAN_AIGWD): userspace/aigwd.c $(SAN_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -O1 $(SAN_FLAGS) $< $(SAN_LIB) $(LDLIBS) -o $@

e2e-asan: all $(SAN_AIGWD) $(NODE_STAMP)
	$(Q)tests/e2e/run_asan.sh

test: all $(UNIT_BINS) $(SAN_BINS) $(BPFT_BINS) $(DLP_CORPUS) $(INTEG_BINS) $(FUZZ_BINS) $(SAN_AIGWD)
	$(Q)tests/run_all.sh

# --- install ---------------------------------------------------------------

# Binaries under PREFIX; config, unit, tmpfiles and logrotate where Debian
# keeps them (aigwd's default config dir is /etc/aigw). An existing config
# is never overwritten.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR    ?= /lib/systemd/system
TMPFILESDIR ?= /usr/lib/tmpfiles.d
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
INSTALL    ?= install

install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/aigw/policies \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SYSCONFDIR)/logrotate.d \
		$(DESTDIR)$(COMPLETIONDIR)
	$(INSTALL) -m 0755 $(BUILD)/aigwd $(DESTDIR)$(SBINDIR)/aigwd
	$(INSTALL) -m 0755 $(BUILD)/aigwctl $(DESTDIR)$(BINDIR)/aigwctl
	for f in aigw.json prices.json; do \
		[ -e $(DESTDIR)$(SYSCONFDIR)/aigw/$$f ] || \
			$(INSTALL) -m 0644 policies/$$f $(DESTDIR)$(SYSCONFDIR)/aigw/$$f; \
	done
	for f in policies/policies/*.json; do \
		[ -e $(DESTDIR)$(SYSCONFDIR)/aigw/policies/$${f##*/} ] || \
			$(INSTALL) -m 0644 $$f $(DESTDIR)$(SYSCONFDIR)/aigw/policies/; \
	done
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		dist/aigwd.service.in > $(DESTDIR)$(UNITDIR)/aigwd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/aigwd.service
	$(INSTALL) -m 0644 dist/aigw.tmpfiles $(DESTDIR)$(TMPFILESDIR)/aigw.conf
	$(INSTALL) -m 0644 dist/aigw.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/aigw
	$(INSTALL) -m 0644 dist/aigwctl.bash-completion $(DESTDIR)$(COMPLETIONDIR)/aigwctl
	$(INSTALL) -m 0644 man/aigwd.8 man/aigwctl.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 man/aigw.json.5 man/aigw-policy.5 $(DESTDIR)$(MANDIR)/man5/

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/aigwd $(DESTDIR)$(BINDIR)/aigwctl \
		$(DESTDIR)$(UNITDIR)/aigwd.service $(DESTDIR)$(TMPFILESDIR)/aigw.conf \
		$(DESTDIR)$(SYSCONFDIR)/logrotate.d/aigw $(DESTDIR)$(COMPLETIONDIR)/aigwctl \
		$(DESTDIR)$(MANDIR)/man8/aigwd.8 $(DESTDIR)$(MANDIR)/man8/aigwctl.8 \
		$(DESTDIR)$(MANDIR)/man5/aigw.json.5 $(DESTDIR)$(MANDIR)/man5/aigw-policy.5

# --- run and bench ---------------------------------------------------------

run: all
	$(BUILD)/aigwd --config $(CONFIG)

bench: all
	$(Q)tests/bench/run.sh

# Five minutes to see it work (README): as root, in a namespace of its own.
demo: all
	$(Q)contrib/demo/demo.sh

clean:
	rm -rf $(BUILD)

# Header dependencies (including the generated skeleton) from -MMD.
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
