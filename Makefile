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
#   make man        the man pages (docs/man/*.scd, scdoc) into build/man/
#   make install    programs, CRIU plugin, unit, man pages, example config
#                   under DESTDIR; make uninstall removes them again
#   make deb        the lazyboot and lazyboot-dkms packages into build/deb/
#   make check-deb  make deb, then the packages' VM test: installed with apt,
#                   a redis image restored by lazybootd@redis, removed
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
PKGS := libnl-genl-3.0 libcurl libzstd libsodium libseccomp

# Install locations (make install, make uninstall, the unit's ExecStart).
# CRIU 3.17 loads every *.so in /usr/lib/criu (its built-in --libdir
# default), hence CRIU_PLUGINDIR; systemd's own unit directory comes from
# its pkg-config file (/lib/systemd/system on Debian 12).
PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
CRIU_PLUGINDIR ?= $(LIBDIR)/criu
UNITDIR ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/lazyboot
DESTDIR ?=

CC ?= cc
CFLAGS ?= -O2 -g
# CPPFLAGS and LDFLAGS are the caller's (dpkg-buildflags: fortify, relro).
CPPFLAGS ?=
LDFLAGS ?=
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
# The library's objects: instrumented for coverage, without libFuzzer's main.
FUZZ_OBJ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
	       -fno-sanitize-recover=undefined

# The C host selftests again, built with AddressSanitizer and UBSan against
# the library built the same way, into $(BUILD)/asan (selftests/run-asan).
# clang, as for the fuzzers; its warnings are not gcc's, so not -Werror
# (the gcc build keeps that).
ASAN_CC := clang
ASAN_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	      -fno-sanitize-recover=undefined
ASAN_LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/asan/obj/%.o)
ASAN_HOST_TESTS := $(patsubst selftests/host/%.c,$(BUILD)/asan/selftests/host/%,\
		     $(wildcard selftests/host/*.c))

PROGRAMS := $(BUILD)/lazybootd $(BUILD)/lazyboot $(BUILD)/lazyboot-init \
	    $(BUILD)/lazyboot_plugin.so

.PHONY: all userspace module tests asan-tests fuzz check demo style dkms-install dkms-tree \
	dkms-src clean deps man install uninstall deb check-deb FORCE
all: userspace module

# The unit is generated: its ExecStart names $(SBINDIR)/lazybootd.
UNIT := $(BUILD)/systemd/lazybootd@.service
userspace: $(PROGRAMS) $(UNIT)

deps:
	scripts/install-deps

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(LZB_CPPFLAGS) $(CPPFLAGS) $(LZB_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/liblazyboot.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/lazyboot: $(BUILD)/daemon/cli/lazyboot.o $(CMD_OBJS) $(BUILD)/liblazyboot.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LZB_LIBS)

$(BUILD)/lazybootd: $(BUILD)/daemon/service/lazybootd.o $(BUILD)/liblazyboot.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LZB_LIBS)

# PID 1 of a captured app set: static, so a dump depends on this one file.
$(BUILD)/lazyboot-init: daemon/init/lazyboot_init.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(LZB_CFLAGS) $(CFLAGS) $(LDFLAGS) -static -o $@ $<

# The plugin carries its own copy of the file-dependency checks.
$(BUILD)/lazyboot_plugin.so: criu-plugin/lazyboot_plugin.c daemon/capture/filedeps.c
	@mkdir -p $(dir $@)
	$(CC) $(LZB_CPPFLAGS) $(CPPFLAGS) $(LZB_CFLAGS) $(CFLAGS) $(LDFLAGS) \
		-fPIC -shared -o $@ $^ $(shell pkg-config --libs libsodium)

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

# The library once, instrumented for the fuzzers; each target links it.
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(LZB_CPPFLAGS) $(FUZZ_OBJ_CFLAGS) \
		-MMD -MP -c $< -o $@

$(BUILD)/fuzz/liblazyboot.a: $(FUZZ_LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/fuzz/%: fuzz/%.c $(BUILD)/fuzz/liblazyboot.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(LZB_CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $< \
		$(BUILD)/fuzz/liblazyboot.a $(LZB_LIBS)

$(BUILD)/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(ASAN_CC) $(LZB_CPPFLAGS) -std=c11 $(ASAN_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/asan/liblazyboot.a: $(ASAN_LIB_OBJS)
	$(AR) rcs $@ $^

$(ASAN_HOST_TESTS): $(BUILD)/asan/selftests/host/%: selftests/host/%.c \
		$(BUILD)/linux-source/.stamp $(BUILD)/asan/liblazyboot.a
	@mkdir -p $(dir $@)
	$(ASAN_CC) $(LZB_CPPFLAGS) $(filter-out -Werror,$(TEST_CFLAGS)) \
		-Wno-unused-parameter -Wno-empty-body \
		$(ASAN_FLAGS) -o $@ $< $(BUILD)/asan/liblazyboot.a $(LZB_LIBS) -ldl

# The CLI the image tests run (three folders above them: build/asan/lazyboot).
$(BUILD)/asan/lazyboot: $(BUILD)/asan/obj/daemon/cli/lazyboot.o \
		$(CMD_SRCS:%.c=$(BUILD)/asan/obj/%.o) $(BUILD)/asan/liblazyboot.a
	$(ASAN_CC) $(ASAN_FLAGS) -o $@ $^ $(LZB_LIBS)

asan-tests: $(ASAN_HOST_TESTS) $(BUILD)/asan/lazyboot

$(TEST_PROGS): $(BUILD)/selftests/progs/%: selftests/progs/%.c
	@mkdir -p $(dir $@)
	$(CC) $(LZB_CFLAGS) $(CFLAGS) -D_GNU_SOURCE -pthread -o $@ $<

tests: $(HOST_TESTS) asan-tests $(GUEST_TESTS) $(FUZZ_TARGETS) \
	$(TEST_PROGS) $(TEST_TOOLS)

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
# dkms-src puts them under DESTDIR (debian/rules: the lazyboot-dkms
# package, whose dkms.conf dh_dkms installs from $(BUILD)/dkms.conf).
DKMS_SRC := /usr/src/lazyboot-$(VERSION)
$(BUILD)/dkms.conf: dkms.conf Makefile
	@mkdir -p $(dir $@)
	sed 's/@VERSION@/$(VERSION)/' $< > $@

dkms-src: $(BUILD)/dkms.conf
	rm -rf $(DESTDIR)$(DKMS_SRC)
	install -d $(DESTDIR)$(DKMS_SRC)/module $(DESTDIR)$(DKMS_SRC)/uapi/linux
	install -m 0644 Kbuild $(DESTDIR)$(DKMS_SRC)/
	install -m 0644 module/*.c module/*.h $(DESTDIR)$(DKMS_SRC)/module/
	install -m 0644 uapi/linux/*.h $(DESTDIR)$(DKMS_SRC)/uapi/linux/

dkms-tree: dkms-src
	install -m 0644 $(BUILD)/dkms.conf $(DKMS_SRC)/

dkms-install: dkms-tree
	dkms add -m lazyboot -v $(VERSION)
	dkms build -m lazyboot -v $(VERSION) $(if $(KVER),-k $(KVER))
	dkms install -m lazyboot -v $(VERSION) $(if $(KVER),-k $(KVER))

# Man pages from their scdoc sources: docs/man/NAME.SECTION.scd.
MAN_PAGES := $(patsubst docs/man/%.scd,$(BUILD)/man/%,$(wildcard docs/man/*.scd))
man: $(MAN_PAGES)

$(BUILD)/man/%: docs/man/%.scd
	@mkdir -p $(dir $@)
	scdoc < $< > $@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }

# Regenerated when SBINDIR changes: replaced only when the text differs.
$(UNIT): daemon/systemd/lazybootd@.service.in FORCE
	@mkdir -p $(dir $@)
	@sed 's|@SBINDIR@|$(SBINDIR)|g' $< > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; \
		echo "generated $@ (ExecStart=$(SBINDIR)/lazybootd)"; fi

FORCE:

# lazyboot-init goes next to lazyboot: `lazyboot capture` looks for it in
# its own directory.  The plugin goes where criu looks without --libdir.
INSTALLED := $(addprefix $(SBINDIR)/,lazyboot lazybootd lazyboot-init) \
	     $(CRIU_PLUGINDIR)/lazyboot_plugin.so \
	     $(UNITDIR)/lazybootd@.service \
	     $(DOCDIR)/examples/example.conf \
	     $(foreach m,$(notdir $(MAN_PAGES)),$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(m))

install: userspace man
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(CRIU_PLUGINDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)/examples
	install -m 0755 $(BUILD)/lazyboot $(BUILD)/lazybootd $(BUILD)/lazyboot-init \
		$(DESTDIR)$(SBINDIR)/
	install -m 0644 $(BUILD)/lazyboot_plugin.so $(DESTDIR)$(CRIU_PLUGINDIR)/
	install -m 0644 $(UNIT) $(DESTDIR)$(UNITDIR)/
	install -m 0644 daemon/systemd/example.conf $(DESTDIR)$(DOCDIR)/examples/
	for m in $(MAN_PAGES); do n=$${m##*/}; \
		install -D -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${n##*.}/$$n || exit 1; \
	done

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null || true

# Both Debian packages (debian/), built in a copy of the tracked sources so
# the packaging's clean step leaves this tree alone; the .deb files, the
# .changes and .buildinfo land in $(BUILD)/deb/.  That build starts clean:
# variables given to this make (BUILD=...) must not reach debian/rules's
# make through MAKEFLAGS (debian/rules names build/ itself).
DEB_DIR := $(BUILD)/deb
deb:
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/lazyboot-$(VERSION)
	if git rev-parse --git-dir >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard | \
			xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
			tar --null -T - -cf - | tar -xf - -C $(DEB_DIR)/lazyboot-$(VERSION); \
	else \
		tar --exclude=./$(BUILD) -cf - . | tar -xf - -C $(DEB_DIR)/lazyboot-$(VERSION); \
	fi
	cd $(DEB_DIR)/lazyboot-$(VERSION) && \
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD dpkg-buildpackage -us -uc -b
	rm -rf $(DEB_DIR)/lazyboot-$(VERSION)
	@ls -1 $(DEB_DIR)/*.deb

# The packages from .deb to a restored app and back, in a systemd guest
# (selftests/qemu/lazybootd-deb; docs/testing.md says why it is not part of
# make check).  The guest's root is this machine's, so the packages'
# dependencies are the ones scripts/install-deps installed.
check-deb: deps
	$(MAKE) deb
	BUILD=$(BUILD) selftests/qemu/run-vm --systemd --results $(BUILD)/results/vm-deb \
		--timeout 1500 -- selftests/qemu/lazybootd-deb

clean:
	rm -rf $(BUILD)
	$(if $(wildcard $(KDIR)),$(MAKE) -C $(KDIR) M=$(CURDIR) clean)

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
