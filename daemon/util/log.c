// SPDX-License-Identifier: LGPL-2.1-or-later
/* Log lines with journal priorities (log.h). */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static enum lzb_log_level max_level = LZB_LOG_INFO;

const char lzb_log_level_names[] = "error, warning or info";

void lzb_log_set_level(enum lzb_log_level level)
{
	max_level = level;
}

bool lzb_log_enabled(enum lzb_log_level level)
{
	return level <= max_level;
}

int lzb_log_parse_level(const char *name, enum lzb_log_level *level)
{
	static const struct {
		const char *name;
		enum lzb_log_level level;
	} names[] = {
		{ "error", LZB_LOG_ERR },
		{ "warning", LZB_LOG_WARNING },
		{ "info", LZB_LOG_INFO },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i].name)) {
			*level = names[i].level;
			return 0;
		}
	return -1;
}

/*
 * Is FD the journal's stream?  systemd.exec(5): compare the fd's device
 * and inode with $JOURNAL_STREAM, since the variable is inherited by
 * children whose output went elsewhere.  Checked at every line: stdio
 * may be redirected between them.
 */
static bool is_journal(int fd)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	if (!env || sscanf(env, "%llu:%llu%n", &dev, &ino, &end) != 2 ||
	    env[end] || fstat(fd, &st))
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

const char *lzb_log_prefix(int fd, enum lzb_log_level level)
{
	static const char *const prefixes[] = {
		"<0>", "<1>", "<2>", "<3>", "<4>", "<5>", "<6>", "<7>",
	};

	if ((unsigned int)level > 7 || !is_journal(fd))
		return "";
	return prefixes[level];
}

/* Each line of a message that has several takes the prefix. */
void lzb_log(enum lzb_log_level level, const char *fmt, ...)
{
	const char *prefix, *line;
	char text[4096];
	va_list ap;

	if (!lzb_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	prefix = lzb_log_prefix(fileno(stderr), level);
	for (line = text;;) {
		const char *nl = strchr(line, '\n');
		int len = nl ? (int)(nl - line) : (int)strlen(line);

		fprintf(stderr, "%s%.*s\n", prefix, len, line);
		if (!nl || !nl[1])
			break;
		line = nl + 1;
	}
}
