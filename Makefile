# SPDX-License-Identifier: GPL-2.0
#
# lazyboot: userspace tools, CRIU plugin, kernel module, tests.
#
#   make            build everything (userspace with -Werror, lazyboot.ko)
#   make check      install missing packages, build, run host tests and the
#                   VM selftests; ends with "N passed, N failed, N skipped"
#   make demo       install missing packages, build, and run the redis demo
#                   (capture, pack, serve, restore four ways; scripts/demo)
#   make module     lazyboot.ko against KDIR
#   make dkms-install  copy the module source to /usr/src and dkms add/build/install
#   make style      checkpatch on module/ and uapi/
#
# KDIR defaults to the running kernel's build tree, else the newest Debian
# linux-headers-*-amd64 installed.

VERSION := 0.1.0
BUILD := build

KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	  $(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1))
KVER = $(shell sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null)
LINUX_SOURCE_TAR ?= $(lastword $(sort $(wildcard /usr/src/linux-source-*.tar.xz)))

# Libraries the userspace links, by pkg-config name.
PKGS := libnl-genl-3.0 libcurl libzstd libsodium

CC ?= cc
CFLAGS ?= -O2 -g
LZB_CPPFLAGS := -D_GNU_SOURCE -Iuapi -Idaemon $(shell pkg-config --cflags $(PKGS))
LZB_CFLAGS := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	      -Wmissing-prototypes -fno-strict-aliasing
LZB_LIBS := $(shell pkg-config --libs $(PKGS))
# The kselftest harness relies on GNU C (typeof, statement expressions).
TEST_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -Wno-sign-compare \
	       -isystem $(BUILD)/kselftest -pthread

# daemon/LAYER/*.c, one folder per layer (docs/architecture.md, enforced by
# selftests/layers-check); init/ is the static PID 1, built on its own.
DAEMON_MAINS := daemon/service/lazybootd.c daemon/cli/lazyboot.c
CMD_SRCS := $(wildcard daemon/cli/cmd_*.c)
LIB_SRCS := $(filter-out $(DAEMON_MAINS) $(CMD_SRCS) daemon/init/%,\
	      $(wildcard daemon/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CMD_OBJS := $(CMD_SRCS:%.c=$(BUILD)/%.o)

HOST_TESTS := $(patsubst selftests/host/%.c,$(BUILD)/selftests/host/%,$(wildcard selftests/host/*.c))
GUEST_TESTS := $(patsubst selftests/guest/%.c,$(BUILD)/selftests/guest/%,$(wildcard selftests/guest/*.c))

# Helper programs the guest tests run (not tests themselves).
TEST_PROGS := $(patsubst selftests/progs/%.c,$(BUILD)/selftests/progs/%,$(wildcard selftests/progs/*.c))
# Tools the VM tests run on restored trees, linked with the library.
TEST_TOOLS := $(patsubst selftests/tools/%.c,$(BUILD)/selftests/tools/%,$(wildcard selftests/tools/*.c))

# libFuzzer targets: fuzz/NAME.c with seeds in fuzz/corpus/NAME/.
FUZZ_TARGETS := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard fuzz/*.c))
FUZZ_CC := clang
FUZZ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
	       -fno-sanitize-recover=undefined

PROGRAMS := $(BUILD)/lazybootd $(BUILD)/lazyboot $(BUILD)/lazyboot-init \
	    $(BUILD)/lazyboot_plugin.so

.PHONY: all userspace module tests fuzz check demo style dkms-install dkms-tree clean deps
all: userspace module

userspace: $(PROGRAMS)

deps:
	scripts/install-deps

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(LZB_CPPFLAGS) $(LZB_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/liblazyboot.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/lazyboot: $(BUILD)/daemon/cli/lazyboot.o $(CMD_OBJS) $(BUILD)/liblazyboot.a
	$(CC) $(CFLAGS) -o $@ $^ $(LZB_LIBS)

$(BUILD)/lazybootd: $(BUILD)/daemon/service/lazybootd.o $(BUILD)/liblazyboot.a
	$(CC) $(CFLAGS) -o $@ $^ $(LZB_LIBS)

# PID 1 of a captured app set: static, so a dump depends on this one file.
$(BUILD)/lazyboot-init: daemon/init/lazyboot_init.c
	@mkdir -p $(dir $@)
	$(CC) $(LZB_CFLAGS) $(CFLAGS) -static -o $@ $<

# The plugin carries its own copy of the file-dependency checks.
$(BUILD)/lazyboot_plugin.so: criu-plugin/lazyboot_plugin.c daemon/capture/filedeps.c
	@mkdir -p $(dir $@)
	$(CC) $(LZB_CPPFLAGS) $(LZB_CFLAGS) $(CFLAGS) -fPIC -shared \
		-o $@ $^ $(shell pkg-config --libs libsodium)

# The kernel module, through the top-level Kbuild.
module:
	@test -d "$(KDIR)" || { echo "make: no kernel build tree (KDIR=$(KDIR));" \
		"install linux-headers-amd64 or set KDIR" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

# kselftest harness headers and checkpatch, taken from Debian's linux-source.
$(BUILD)/linux-source/.stamp:
	@test -f "$(LINUX_SOURCE_TAR)" || { echo "make: linux-source tarball" \
		"not found in /usr/src; install linux-source-6.1" >&2; exit 1; }
	@mkdir -p $(BUILD)/linux-source $(BUILD)/kselftest
	tar -xJf $(LINUX_SOURCE_TAR) -C $(BUILD)/linux-source --strip-components=1 \
		--wildcards '*/tools/testing/selftests/kselftest.h' \
		'*/tools/testing/selftests/kselftest_harness.h' \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch'
	cp $(BUILD)/linux-source/tools/testing/selftests/kselftest*.h $(BUILD)/kselftest/
	touch $@

$(BUILD)/selftests/%: selftests/%.c $(BUILD)/linux-source/.stamp $(BUILD)/liblazyboot.a
	@mkdir -p $(dir $@)
	$(CC) $(LZB_CPPFLAGS) $(TEST_CFLAGS) $(CFLAGS) -o $@ $< \
		$(BUILD)/liblazyboot.a $(LZB_LIBS) -ldl

$(BUILD)/fuzz/%: fuzz/%.c $(LIB_SRCS) $(wildcard daemon/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(LZB_CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRCS) $(LZB_LIBS)

$(TEST_PROGS): $(BUILD)/selftests/progs/%: selftests/progs/%.c
	@mkdir -p $(dir $@)
	$(CC) $(LZB_CFLAGS) $(CFLAGS) -D_GNU_SOURCE -pthread -o $@ $<

tests: $(HOST_TESTS) $(GUEST_TESTS) $(FUZZ_TARGETS) $(TEST_PROGS) $(TEST_TOOLS)

check: deps
	$(MAKE) all tests
	KDIR=$(KDIR) KVER=$(KVER) BUILD=$(BUILD) selftests/run-tests

# DEMO_KEYS=N sets the redis dataset size (default 100000 keys).
demo:
	BUILD=$(BUILD) scripts/demo

style: $(BUILD)/linux-source/.stamp
	$(BUILD)/linux-source/scripts/checkpatch.pl --no-tree --strict \
		-f module/*.c module/*.h uapi/linux/*.h

# DKMS: the module sources alone, as dkms expects them in /usr/src.
DKMS_SRC := /usr/src/lazyboot-$(VERSION)
dkms-tree:
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)
	cp -r Kbuild dkms.conf module uapi $(DKMS_SRC)/
	sed -i 's/@VERSION@/$(VERSION)/' $(DKMS_SRC)/dkms.conf

dkms-install: dkms-tree
	dkms add -m lazyboot -v $(VERSION)
	dkms build -m lazyboot -v $(VERSION) $(if $(KVER),-k $(KVER))
	dkms install -m lazyboot -v $(VERSION) $(if $(KVER),-k $(KVER))

clean:
	rm -rf $(BUILD)
	$(if $(wildcard $(KDIR)),$(MAKE) -C $(KDIR) M=$(CURDIR) clean)

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
