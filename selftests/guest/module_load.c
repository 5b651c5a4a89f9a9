// SPDX-License-Identifier: GPL-2.0
/*
 * VM selftest: lazyboot.ko loads and unloads cleanly, and registers and
 * removes its generic netlink family with it.
 *
 * LAZYBOOT_KO names the module file (default: ./lazyboot.ko).  The test
 * leaves the module loaded as it found it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "kselftest_harness.h"
#include <linux/lazyboot.h>

static const char *module_path(void)
{
	const char *path = getenv("LAZYBOOT_KO");

	return path ? path : "lazyboot.ko";
}

static int module_loaded(void)
{
	return access("/sys/module/lazyboot", F_OK) == 0;
}

static int load_module(void)
{
	int fd = open(module_path(), O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(__NR_finit_module, fd, "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

static int unload_module(void)
{
	return syscall(__NR_delete_module, "lazyboot", O_NONBLOCK) ? -errno : 0;
}

/* The family id, or a negative libnl error when it is not registered. */
static int resolve_family(void)
{
	struct nl_sock *sock = nl_socket_alloc();
	int id;

	if (!sock)
		return -NLE_NOMEM;
	id = genl_connect(sock);
	if (id == 0)
		id = genl_ctrl_resolve(sock, LAZYBOOT_FAMILY_NAME);
	nl_socket_free(sock);
	return id;
}

static char *read_sysfs(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	if (!fgets(buf, size, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

FIXTURE(module)
{
	int was_loaded;
};

FIXTURE_SETUP(module)
{
	ASSERT_EQ(0, access(module_path(), R_OK))
		TH_LOG("no module file at %s (set LAZYBOOT_KO)", module_path());
	self->was_loaded = module_loaded();
	if (self->was_loaded)
		ASSERT_EQ(0, unload_module());
	ASSERT_FALSE(module_loaded());
}

FIXTURE_TEARDOWN(module)
{
	if (self->was_loaded && !module_loaded())
		load_module();
	if (!self->was_loaded && module_loaded())
		unload_module();
}

TEST_F(module, load_registers_family)
{
	char buf[64];

	ASSERT_EQ(-NLE_OBJ_NOTFOUND, resolve_family());
	ASSERT_EQ(0, load_module());
	ASSERT_TRUE(module_loaded());
	ASSERT_NE(NULL, read_sysfs("/sys/module/lazyboot/version", buf,
				   sizeof(buf)));
	EXPECT_STREQ("0.1.0", buf);
	EXPECT_GT(resolve_family(), 0);
}

TEST_F(module, unload_removes_family)
{
	ASSERT_EQ(0, load_module());
	ASSERT_GT(resolve_family(), 0);
	ASSERT_EQ(0, unload_module());
	EXPECT_FALSE(module_loaded());
	EXPECT_EQ(-NLE_OBJ_NOTFOUND, resolve_family());
}

TEST_F(module, double_load_is_refused)
{
	ASSERT_EQ(0, load_module());
	EXPECT_EQ(-EEXIST, load_module());
	EXPECT_GT(resolve_family(), 0);
}

TEST_F(module, repeated_load_unload)
{
	int i;

	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, load_module());
		ASSERT_GT(resolve_family(), 0);
		ASSERT_EQ(0, unload_module());
		ASSERT_EQ(-NLE_OBJ_NOTFOUND, resolve_family());
	}
}

static unsigned long kernel_taint(void)
{
	char buf[32];

	if (!read_sysfs("/proc/sys/kernel/tainted", buf, sizeof(buf)))
		return ~0UL;
	return strtoul(buf, NULL, 10);
}

#define TAINT_DIE_BIT	(1UL << 7)
#define TAINT_WARN_BIT	(1UL << 9)

TEST_F(module, no_warning_or_oops)
{
	unsigned long before = kernel_taint();
	char buf[64];

	ASSERT_NE(~0UL, before);
	ASSERT_EQ(0, load_module());
	ASSERT_NE(NULL, read_sysfs("/sys/module/lazyboot/taint", buf,
				   sizeof(buf)));
	/* GPL, not force-loaded: neither P nor F may show up. */
	EXPECT_EQ(NULL, strpbrk(buf, "PF"));
	ASSERT_EQ(0, unload_module());
	EXPECT_EQ(0, (kernel_taint() & ~before) &
		     (TAINT_DIE_BIT | TAINT_WARN_BIT));
}

TEST_HARNESS_MAIN
