/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Subcommands of the `lazyboot` command, one file each (cmd_*.c). */
#ifndef LAZYBOOT_COMMANDS_H
#define LAZYBOOT_COMMANDS_H

struct lzb_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

int cmd_version(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_unpack(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_sessions(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
