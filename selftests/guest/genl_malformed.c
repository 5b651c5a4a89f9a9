// SPDX-License-Identifier: GPL-2.0
/*
 * VM selftest: lazyboot.ko's generic netlink family validates requests
 * strictly.  Each variant sends one hand-built message on a raw netlink
 * socket and checks the errno of the kernel's answer.  Needs the module.
 */
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "kselftest_harness.h"
#include <linux/lazyboot.h>

#define MAX_PAYLOAD 64

FIXTURE(malformed)
{
	int family;
};

FIXTURE_VARIANT(malformed)
{
	uint8_t cmd;
	uint16_t reserved;
	/* Attribute bytes placed after the genetlink header, as sent. */
	uint8_t payload[MAX_PAYLOAD];
	int payload_len;
	/* Cut the message this many bytes short of the genetlink header. */
	int short_by;
	uid_t uid;
	int expect_errno;	/* 0: accepted */
};

/* An attribute header: nla_len (LE u16), nla_type (LE u16). */
#define NLA(len, type) (len) & 0xff, (len) >> 8, (type) & 0xff, (type) >> 8

FIXTURE_VARIANT_ADD(malformed, well_formed) {
	.cmd = LAZYBOOT_CMD_GET_INFO,
	.expect_errno = 0,
};

FIXTURE_VARIANT_ADD(malformed, unknown_attribute) {
	.cmd = LAZYBOOT_CMD_GET_INFO,
	.payload = { NLA(8, 42), 1, 0, 0, 0 },
	.payload_len = 8,
	.expect_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(malformed, reply_only_attribute) {
	.cmd = LAZYBOOT_CMD_GET_INFO,
	.payload = { NLA(8, LAZYBOOT_A_INFO_FAMILY_VERSION), 1, 0, 0, 0 },
	.payload_len = 8,
	.expect_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(malformed, attribute_longer_than_message) {
	.cmd = LAZYBOOT_CMD_GET_INFO,
	.payload = { NLA(32, LAZYBOOT_A_INFO_FEATURES), 1, 0, 0, 0 },
	.payload_len = 8,
	.expect_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(malformed, attribute_shorter_than_header) {
	.cmd = LAZYBOOT_CMD_GET_INFO,
	.payload = { NLA(2, LAZYBOOT_A_INFO_FEATURES), 0, 0, 0, 0 },
	.payload_len = 8,
	.expect_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(malformed, trailing_garbage) {
	.cmd = LAZYBOOT_CMD_GET_INFO,
	.payload = { 0xde, 0xad },
	.payload_len = 2,
	.expect_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(malformed, reserved_header_bits) {
	.cmd = LAZYBOOT_CMD_GET_INFO,
	.reserved = 1,
	.expect_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(malformed, truncated_genl_header) {
	.cmd = LAZYBOOT_CMD_GET_INFO,
	.short_by = 2,
	.expect_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(malformed, unknown_command) {
	.cmd = 99,
	.expect_errno = EOPNOTSUPP,
};

FIXTURE_VARIANT_ADD(malformed, unspec_command) {
	.cmd = LAZYBOOT_CMD_UNSPEC,
	.expect_errno = EOPNOTSUPP,
};

FIXTURE_VARIANT_ADD(malformed, unprivileged) {
	.cmd = LAZYBOOT_CMD_GET_INFO,
	.uid = 65534,
	.expect_errno = EPERM,
};

/* A u32 attribute: header and little-endian value. */
#define NLA_U32(type, v) NLA(8, type), (v) & 0xff, ((v) >> 8) & 0xff, \
	((v) >> 16) & 0xff, ((v) >> 24) & 0xff

/*
 * Session commands: strict per-command policies, admin only.  Values out
 * of a policy's range are refused with ERANGE, the rest with EINVAL.
 */
FIXTURE_VARIANT_ADD(malformed, session_new_without_attributes) {
	.cmd = LAZYBOOT_CMD_SESSION_NEW,
	.expect_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(malformed, session_new_without_uffd) {
	.cmd = LAZYBOOT_CMD_SESSION_NEW,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_PID, 1) },
	.payload_len = 8,
	.expect_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(malformed, session_new_pid_zero) {
	.cmd = LAZYBOOT_CMD_SESSION_NEW,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_PID, 0),
		     NLA_U32(LAZYBOOT_A_SESSION_UFFD, 0) },
	.payload_len = 16,
	.expect_errno = ERANGE,
};

FIXTURE_VARIANT_ADD(malformed, session_new_short_pid) {
	.cmd = LAZYBOOT_CMD_SESSION_NEW,
	.payload = { NLA(6, LAZYBOOT_A_SESSION_PID), 1, 0, 0, 0 },
	.payload_len = 8,
	.expect_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(malformed, session_new_deadline_zero) {
	.cmd = LAZYBOOT_CMD_SESSION_NEW,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_PID, 1),
		     NLA_U32(LAZYBOOT_A_SESSION_UFFD, 0),
		     NLA_U32(LAZYBOOT_A_SESSION_DEADLINE_MS, 0) },
	.payload_len = 24,
	.expect_errno = ERANGE,
};

FIXTURE_VARIANT_ADD(malformed, session_new_deadline_over_a_day) {
	.cmd = LAZYBOOT_CMD_SESSION_NEW,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_PID, 1),
		     NLA_U32(LAZYBOOT_A_SESSION_UFFD, 0),
		     NLA_U32(LAZYBOOT_A_SESSION_DEADLINE_MS, 86400001) },
	.payload_len = 24,
	.expect_errno = ERANGE,
};

FIXTURE_VARIANT_ADD(malformed, session_new_reply_only_state) {
	.cmd = LAZYBOOT_CMD_SESSION_NEW,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_PID, 1),
		     NLA_U32(LAZYBOOT_A_SESSION_UFFD, 0),
		     NLA_U32(LAZYBOOT_A_SESSION_STATE, 1) },
	.payload_len = 24,
	.expect_errno = EINVAL,
};

/* fd 1, the test's output, is open and no uffd. */
FIXTURE_VARIANT_ADD(malformed, session_new_not_a_uffd) {
	.cmd = LAZYBOOT_CMD_SESSION_NEW,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_PID, 1),
		     NLA_U32(LAZYBOOT_A_SESSION_UFFD, 1) },
	.payload_len = 16,
	.expect_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(malformed, session_new_bad_fd) {
	.cmd = LAZYBOOT_CMD_SESSION_NEW,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_PID, 1),
		     NLA_U32(LAZYBOOT_A_SESSION_UFFD, 4000) },
	.payload_len = 16,
	.expect_errno = EBADF,
};

FIXTURE_VARIANT_ADD(malformed, session_get_id_zero) {
	.cmd = LAZYBOOT_CMD_SESSION_GET,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_ID, 0) },
	.payload_len = 8,
	.expect_errno = ERANGE,
};

FIXTURE_VARIANT_ADD(malformed, session_get_unknown_id) {
	.cmd = LAZYBOOT_CMD_SESSION_GET,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_ID, 0x7fffff00) },
	.payload_len = 8,
	.expect_errno = ENOENT,
};

FIXTURE_VARIANT_ADD(malformed, session_get_reply_only_uffd) {
	.cmd = LAZYBOOT_CMD_SESSION_GET,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_ID, 1),
		     NLA_U32(LAZYBOOT_A_SESSION_UFFD, 0) },
	.payload_len = 16,
	.expect_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(malformed, session_attach_without_id) {
	.cmd = LAZYBOOT_CMD_SESSION_ATTACH,
	.expect_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(malformed, session_attach_unknown_id) {
	.cmd = LAZYBOOT_CMD_SESSION_ATTACH,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_ID, 0x7fffff00) },
	.payload_len = 8,
	.expect_errno = ENOENT,
};

FIXTURE_VARIANT_ADD(malformed, session_close_unknown_id) {
	.cmd = LAZYBOOT_CMD_SESSION_CLOSE,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_ID, 0x7fffff00) },
	.payload_len = 8,
	.expect_errno = ENOENT,
};

FIXTURE_VARIANT_ADD(malformed, session_event_as_request) {
	.cmd = LAZYBOOT_CMD_SESSION_ORPHANED,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_ID, 1) },
	.payload_len = 8,
	.expect_errno = EOPNOTSUPP,
};

FIXTURE_VARIANT_ADD(malformed, session_new_unprivileged) {
	.cmd = LAZYBOOT_CMD_SESSION_NEW,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_PID, 1),
		     NLA_U32(LAZYBOOT_A_SESSION_UFFD, 0) },
	.payload_len = 16,
	.uid = 65534,
	.expect_errno = EPERM,
};

FIXTURE_VARIANT_ADD(malformed, session_attach_unprivileged) {
	.cmd = LAZYBOOT_CMD_SESSION_ATTACH,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_ID, 1) },
	.payload_len = 8,
	.uid = 65534,
	.expect_errno = EPERM,
};

FIXTURE_VARIANT_ADD(malformed, session_close_unprivileged) {
	.cmd = LAZYBOOT_CMD_SESSION_CLOSE,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_ID, 1) },
	.payload_len = 8,
	.uid = 65534,
	.expect_errno = EPERM,
};

FIXTURE_VARIANT_ADD(malformed, milestone_without_milestone) {
	.cmd = LAZYBOOT_CMD_MILESTONE,
	.expect_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(malformed, milestone_unknown) {
	.cmd = LAZYBOOT_CMD_MILESTONE,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_MILESTONE,
			     LAZYBOOT_MILESTONE_COUNT) },
	.payload_len = 8,
	.expect_errno = ERANGE,
};

FIXTURE_VARIANT_ADD(malformed, milestone_reply_only_kernel_ts) {
	.cmd = LAZYBOOT_CMD_MILESTONE,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_MILESTONE, 0),
		     NLA(12, LAZYBOOT_A_SESSION_KERNEL_TS_NS),
		     1, 0, 0, 0, 0, 0, 0, 0 },
	.payload_len = 20,
	.expect_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(malformed, milestone_of_unknown_session) {
	.cmd = LAZYBOOT_CMD_MILESTONE,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_MILESTONE, 0),
		     NLA_U32(LAZYBOOT_A_SESSION_ID, 0x7fffff00) },
	.payload_len = 16,
	.expect_errno = ENOENT,
};

FIXTURE_VARIANT_ADD(malformed, milestone_unprivileged) {
	.cmd = LAZYBOOT_CMD_MILESTONE,
	.payload = { NLA_U32(LAZYBOOT_A_SESSION_MILESTONE, 0) },
	.payload_len = 8,
	.uid = 65534,
	.expect_errno = EPERM,
};

FIXTURE_SETUP(malformed)
{
	struct nl_sock *sock;

	/* run-suite loads the module: its absence is a failure. */
	ASSERT_EQ(0, access("/sys/module/lazyboot", F_OK));
	sock = nl_socket_alloc();
	ASSERT_NE(NULL, sock);
	ASSERT_EQ(0, genl_connect(sock));
	self->family = genl_ctrl_resolve(sock, LAZYBOOT_FAMILY_NAME);
	nl_socket_free(sock);
	ASSERT_GT(self->family, 0);
}

FIXTURE_TEARDOWN(malformed)
{
}

/*
 * Send the variant's message and return the error of the kernel's
 * NLMSG_ERROR answer as a positive errno (0 for an ACK).
 */
static int send_request(int family, const FIXTURE_VARIANT(malformed) *v)
{
	struct {
		struct nlmsghdr nlh;
		struct genlmsghdr genl;
		uint8_t payload[MAX_PAYLOAD];
	} req;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	char buf[8192];
	int fd, len;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN + v->payload_len -
			    v->short_by;
	req.nlh.nlmsg_type = family;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nlh.nlmsg_seq = 1;
	req.genl.cmd = v->cmd;
	req.genl.version = LAZYBOOT_FAMILY_VERSION;
	req.genl.reserved = v->reserved;
	memcpy(req.payload, v->payload, v->payload_len);

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &req, req.nlh.nlmsg_len, 0,
		   (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		goto fail;
	for (;;) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

		len = recv(fd, buf, sizeof(buf), 0);
		if (len < 0)
			goto fail;
		for (; NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *err = NLMSG_DATA(nlh);

				close(fd);
				return -err->error;
			}
		}
	}
fail:
	len = -errno;
	close(fd);
	return len;
}

TEST_F(malformed, answer)
{
	int status, got;
	pid_t pid;

	if (!variant->uid) {
		EXPECT_EQ(variant->expect_errno,
			  send_request(self->family, variant));
		return;
	}
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (setgid(variant->uid) || setuid(variant->uid))
			_exit(255);
		got = send_request(self->family, variant);
		_exit(got < 0 ? 254 : got);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(variant->expect_errno, WEXITSTATUS(status));
}

/* A rejected request must not disturb the next good one. */
TEST_F(malformed, then_well_formed)
{
	FIXTURE_VARIANT(malformed) good = { .cmd = LAZYBOOT_CMD_GET_INFO };

	if (!variant->uid)
		send_request(self->family, variant);
	EXPECT_EQ(0, send_request(self->family, &good));
}

TEST_HARNESS_MAIN
