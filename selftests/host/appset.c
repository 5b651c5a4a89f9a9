// SPDX-License-Identifier: GPL-2.0
/*
 * Host selftest: the app-set description parser (docs/appset.md) on good
 * files and on a table of bad ones, each with the line-numbered message it
 * must give.
 */
#include <sched.h>
#include <string.h>

#include "kselftest_harness.h"
#include "capture/appset.h"

static const char good[] =
	"# an app set\n"
	"[appset]\n"
	"name = redis-demo\n"
	"hostname = node-1\n"
	"criu-options = --tcp-established --file-locks\n"
	"\n"
	"[service redis]\n"
	"command = /usr/bin/redis-server --port 6391 --save \"\" "
	"--enable-debug-command yes\n"
	"workdir = /tmp\n"
	"env = LANG=C\n"
	"env = EMPTY=\n"
	"ready = redis-ping 127.0.0.1:6391\n"
	"ready = tcp 127.0.0.1:6391\n"
	"ready-timeout = 30\n"
	"before-dump = /usr/bin/redis-cli -p 6391 DEBUG POPULATE 1000\n"
	"warmup = /usr/bin/redis-cli -p 6391 GET key:1\n"
	"  ; indented comment\n"
	"[service web]\n"
	"command = python3 -m http.server --bind 127.0.0.1 8000\n"
	"ready = http http://127.0.0.1:8000/index.html 200\n"
	"ready = command /bin/sh -c 'test -e /tmp'\n"
	"coldstart = python3 -m http.server 8000\n";

TEST(good_file)
{
	struct lzb_appset a;
	struct lzb_err err = { "" };
	const struct lzb_service *r, *w;

	ASSERT_EQ(0, lzb_appset_parse(good, strlen(good), "good", &a, &err)) TH_LOG("%s", err.msg);
	EXPECT_STREQ("redis-demo", a.name);
	EXPECT_STREQ("node-1", a.hostname);
	EXPECT_EQ(CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC, a.namespaces);
	ASSERT_EQ(2, a.criu_options.argc);
	EXPECT_STREQ("--file-locks", a.criu_options.argv[1]);
	ASSERT_EQ(2, a.nsvc);
	r = &a.svc[0];
	w = &a.svc[1];
	EXPECT_STREQ("redis", r->name);
	EXPECT_EQ(7, r->line);
	ASSERT_EQ(7, r->command.argc);
	EXPECT_STREQ("", r->command.argv[4]);	/* --save "" */
	EXPECT_EQ(NULL, r->command.argv[7]);
	EXPECT_STREQ("/tmp", r->workdir);
	ASSERT_EQ(2, r->nenv);
	EXPECT_STREQ("EMPTY=", r->env[1]);
	ASSERT_EQ(2, r->nprobes);
	EXPECT_EQ(LZB_PROBE_REDIS, r->probes[0].kind);
	EXPECT_STREQ("127.0.0.1", r->probes[0].host);
	EXPECT_STREQ("6391", r->probes[0].port);
	EXPECT_EQ(LZB_PROBE_TCP, r->probes[1].kind);
	EXPECT_EQ(30, r->ready_timeout_s);
	EXPECT_EQ(6, r->before_dump.argc);
	EXPECT_EQ(5, r->warmup.argc);
	EXPECT_EQ(0, r->coldstart.argc);
	EXPECT_EQ(60, w->ready_timeout_s);
	EXPECT_EQ(NULL, w->workdir);
	ASSERT_EQ(2, w->nprobes);
	EXPECT_EQ(LZB_PROBE_HTTP, w->probes[0].kind);
	EXPECT_STREQ("8000", w->probes[0].port);
	EXPECT_STREQ("/index.html", w->probes[0].path);
	EXPECT_EQ(200, w->probes[0].status);
	EXPECT_EQ(LZB_PROBE_COMMAND, w->probes[1].kind);
	ASSERT_EQ(3, w->probes[1].cmd.argc);
	EXPECT_STREQ("test -e /tmp", w->probes[1].cmd.argv[2]);
	EXPECT_EQ(4, w->coldstart.argc);
	lzb_appset_free(&a);
}

TEST(minimal_file_and_namespaces)
{
	static const char t[] = "[appset]\nnamespaces = uts pid mount\n"
				"[service a]\ncommand=sleep 1\n"
				"ready=tcp [::1]:80\nready = http http://h\n";
	struct lzb_appset a;
	struct lzb_err err = { "" };

	ASSERT_EQ(0, lzb_appset_parse(t, strlen(t), "m", &a, &err)) TH_LOG("%s", err.msg);
	EXPECT_STREQ("appset", a.name);
	EXPECT_EQ(CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWNS, a.namespaces);
	EXPECT_STREQ("::1", a.svc[0].probes[0].host);
	EXPECT_STREQ("h", a.svc[0].probes[1].host);
	EXPECT_STREQ("80", a.svc[0].probes[1].port);
	EXPECT_STREQ("/", a.svc[0].probes[1].path);
	lzb_appset_free(&a);
}

static const struct {
	const char *text;
	const char *msg;	/* expected in the error, with its line */
} bad[] = {
	{ "", "bad:1: no [service NAME] section" },
	{ "# only a comment\n", "bad:1: no [service NAME] section" },
	{ "command = x\n", "bad:1: 'command' outside any section" },
	{ "[appset]\n[appset]\n", "bad:2: [appset] given twice" },
	{ "[apps]\n", "bad:1: unknown section [apps]" },
	{ "[service]\n", "bad:1: unknown section [service]" },
	{ "[service a b]\n", "bad:1: service name 'a b'" },
	{ "[service a\n", "bad:1: a section header is" },
	{ "[service a] x\n", "bad:1: a section header is" },
	{ "[service a]\ncommand=x\nready=tcp h:1\n[service a]\n",
	  "bad:4: service 'a' defined twice (first at line 1)" },
	{ "[service a]\nready = tcp h:1\n", "bad:1: [service a] has no command" },
	{ "[service a]\ncommand = x\n[service b]\n",
	  "bad:1: [service a] has no ready probe" },
	{ "[service a]\ncommand = x\nfoo = 1\n", "bad:3: unknown key 'foo'" },
	{ "[service a]\njust text\n", "bad:2: expected 'key = value'" },
	{ "[service a]\n= v\n", "bad:2: missing key" },
	{ "[service a]\ncommand =\n", "bad:2: 'command' has no value" },
	{ "[service a]\ncommand = 'x\n", "bad:2: command: unterminated '" },
	{ "[service a]\ncommand = \"x\n", "bad:2: command: unterminated \"" },
	{ "[service a]\ncommand = x\\\n", "bad:2: command: trailing backslash" },
	{ "[service a]\ncommand = x\ncommand = y\n",
	  "bad:3: 'command' given twice" },
	{ "[service a]\nworkdir = tmp\n", "bad:2: workdir must be an absolute" },
	{ "[service a]\nenv = NOEQUALS\n", "bad:2: env must be NAME=VALUE" },
	{ "[service a]\nenv = 1X=2\n", "bad:2: env: '1X' is not" },
	{ "[service a]\nready-timeout = 0\n", "bad:2: ready-timeout must" },
	{ "[service a]\nready-timeout = 5s\n", "bad:2: ready-timeout must" },
	{ "[service a]\nready-timeout = 99999\n", "bad:2: ready-timeout must" },
	{ "[service a]\nready = ping h:1\n", "bad:2: ready: unknown probe 'ping'" },
	{ "[service a]\nready = tcp\n", "bad:2: ready: probe 'tcp' needs" },
	{ "[service a]\nready = tcp host\n", "bad:2: ready: expected HOST:PORT" },
	{ "[service a]\nready = tcp h:0\n", "bad:2: ready: bad port '0'" },
	{ "[service a]\nready = tcp h:65536\n", "bad:2: ready: bad port" },
	{ "[service a]\nready = tcp h:80x\n", "bad:2: ready: bad port" },
	{ "[service a]\nready = tcp h:1 h:2\n", "bad:2: ready: tcp probe takes one" },
	{ "[service a]\nready = redis-ping :6379\n", "bad:2: ready: bad host" },
	{ "[service a]\nready = tcp [::1]80\n", "bad:2: ready: expected [ADDRESS]" },
	{ "[service a]\nready = http https://h/\n", "bad:2: ready: http probe needs an http://" },
	{ "[service a]\nready = http http:///x\n", "bad:2: ready: http URL without a host" },
	{ "[service a]\nready = http http://h/ 600\n", "bad:2: ready: bad expected status" },
	{ "[service a]\nready = http http://h/ ok\n", "bad:2: ready: bad expected status" },
	{ "[service a]\nready = command ''\"\"\n", NULL /* argv [""]: fine */ },
	{ "[appset]\nnamespaces = uts\n", "bad:2: namespaces must include pid" },
	{ "[appset]\nnamespaces = pid user\n", "bad:2: unknown namespace 'user'" },
	{ "[appset]\nname = a/b\n", "bad:2: name: 1-32" },
	{ "[appset]\nhostname = a b\n", "bad:2: hostname:" },
	{ "[appset]\ncommand = x\n", "bad:2: unknown key 'command' in [appset]" },
	{ "[appset]\ncriu-options = a\ncriu-options = b\n",
	  "bad:3: 'criu-options' given twice" },
};

TEST(bad_files)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lzb_appset a;
		struct lzb_err err = { "" };
		int ret;

		ret = lzb_appset_parse(bad[i].text, strlen(bad[i].text), "bad",
				       &a, &err);
		if (!bad[i].msg) {
			/* Only the probe is fine; no command: still bad. */
			EXPECT_EQ(-EINVAL, ret);
			EXPECT_NE(NULL, strstr(err.msg, "has no command"))
				TH_LOG("case %zu: %s", i, err.msg);
			continue;
		}
		EXPECT_EQ(-EINVAL, ret) TH_LOG("case %zu parsed", i);
		EXPECT_NE(NULL, strstr(err.msg, bad[i].msg))
			TH_LOG("case %zu: want '%s', got '%s'", i, bad[i].msg,
			       err.msg);
	}
}

TEST(limits)
{
	static char big[LZB_APPSET_MAX_FILE + 10];
	char line[LZB_APPSET_MAX_LINE + 40];
	struct lzb_appset a;
	struct lzb_err err = { "" };
	char *p;
	int i;

	memset(big, '#', sizeof(big) - 1);
	EXPECT_EQ(-EINVAL, lzb_appset_parse(big, sizeof(big) - 1, "big", &a,
					    &err));
	EXPECT_NE(NULL, strstr(err.msg, "big:0: larger than"));

	strcpy(line, "[service a]\n#");
	memset(line + 13, 'x', LZB_APPSET_MAX_LINE);
	line[13 + LZB_APPSET_MAX_LINE] = '\0';
	EXPECT_EQ(-EINVAL, lzb_appset_parse(line, strlen(line), "long", &a,
					    &err));
	EXPECT_NE(NULL, strstr(err.msg, "long:2: line longer than"));

	EXPECT_EQ(-EINVAL, lzb_appset_parse("[service a]\ncom\0mand=x\n", 23,
					    "nul", &a, &err));
	EXPECT_NE(NULL, strstr(err.msg, "nul:2: NUL byte"));

	p = big;
	for (i = 0; i <= LZB_APPSET_MAX_SERVICES; i++)
		p += sprintf(p, "[service s%d]\ncommand=x\nready=tcp h:1\n", i);
	EXPECT_EQ(-EINVAL, lzb_appset_parse(big, p - big, "many", &a, &err));
	EXPECT_NE(NULL, strstr(err.msg, "many:97: more than 32 services"))
		TH_LOG("%s", err.msg);

	p = big + sprintf(big, "[service a]\ncommand=x\n");
	for (i = 0; i <= LZB_APPSET_MAX_PROBES; i++)
		p += sprintf(p, "ready=tcp h:%d\n", i + 1);
	EXPECT_EQ(-EINVAL, lzb_appset_parse(big, p - big, "probes", &a, &err));
	EXPECT_NE(NULL, strstr(err.msg, "probes:11: more than 8 ready probes"))
		TH_LOG("%s", err.msg);

	p = big + sprintf(big, "[service a]\ncommand=x");
	for (i = 0; i <= LZB_ARGV_MAX; i++)
		p += sprintf(p, " w");
	*p++ = '\n';
	EXPECT_EQ(-EINVAL, lzb_appset_parse(big, p - big, "words", &a, &err));
	EXPECT_NE(NULL, strstr(err.msg, "words:2: command: more than 128 words"))
		TH_LOG("%s", err.msg);
}

TEST(load_missing_file)
{
	struct lzb_appset a;
	struct lzb_err err = { "" };

	EXPECT_EQ(-ENOENT, lzb_appset_load("/nonexistent/x.appset", &a, &err));
	EXPECT_NE(NULL, strstr(err.msg, "/nonexistent/x.appset: No such file"));
}

TEST_HARNESS_MAIN
