// SPDX-License-Identifier: GPL-2.0
/*
 * VM selftest: the GET_INFO query answered by lazyboot.ko, through the
 * same libnl-genl-3 client the tools use, and refused without privilege.
 * Needs the module loaded.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include <linux/lazyboot.h>
#include "pager/module_client.h"

FIXTURE(info)
{
};

FIXTURE_SETUP(info)
{
	/* run-suite loads the module: its absence is a failure. */
	ASSERT_EQ(0, access("/sys/module/lazyboot", F_OK));
}

FIXTURE_TEARDOWN(info)
{
}

TEST_F(info, reports_versions)
{
	struct lzb_module_info info;
	struct utsname uts;

	ASSERT_EQ(0, lzb_module_get_info(&info));
	ASSERT_EQ(0, uname(&uts));
	EXPECT_EQ(LAZYBOOT_FAMILY_VERSION, info.family_version);
	EXPECT_STREQ("0.1.0", info.module_version);
	EXPECT_STREQ(uts.release, info.kernel_release);
	/*
	 * Sessions, milestones, pids in events (Debian 12's 6.1 has
	 * GENL_MCAST_CAP_SYS_ADMIN); stall statistics where kretprobes work.
	 */
	EXPECT_EQ(LAZYBOOT_FEATURE_SESSIONS | LAZYBOOT_FEATURE_MILESTONES |
		  LAZYBOOT_FEATURE_EVENT_PIDS,
		  info.features & ~(uint64_t)LAZYBOOT_FEATURE_STALL_STATS);
}

TEST_F(info, many_queries)
{
	struct lzb_module_info info;
	int i;

	for (i = 0; i < 200; i++)
		ASSERT_EQ(0, lzb_module_get_info(&info));
}

/* Run the query as an unprivileged user in a child; return its result. */
static int query_as(uid_t uid)
{
	struct lzb_module_info info;
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (setgid(uid) || setuid(uid))
			_exit(255);
		_exit(-lzb_module_get_info(&info));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -ECHILD;
	return -WEXITSTATUS(status);
}

TEST_F(info, unprivileged_is_refused)
{
	EXPECT_EQ(-EPERM, query_as(65534));
	EXPECT_EQ(0, query_as(0));
}

TEST_F(info, cli_reports_module)
{
	char line[256], all[1024] = "";
	FILE *out;

	out = popen("${BUILD:-build}/lazyboot version", "r");
	ASSERT_NE(NULL, out);
	while (fgets(line, sizeof(line), out))
		strncat(all, line, sizeof(all) - strlen(all) - 1);
	ASSERT_EQ(0, pclose(out));
	EXPECT_NE(NULL, strstr(all, "lazyboot.ko: 0.1.0 on "));
}

TEST_HARNESS_MAIN
