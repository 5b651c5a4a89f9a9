// SPDX-License-Identifier: LGPL-2.1-or-later
/* A TFTP try's socket and the window it holds: tftp_socket.h. */
#include "fetch/tftp_socket.h"

#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#define RCVBUF_ASK_MIN (1 << 20)
#define RCVBUF_ASK_MAX (64 << 20)

/*
 * One block's datagram as the receive buffer counts it (truesize, not
 * payload): a 1500-byte MTU cuts a 64 KiB block into 45 fragments of
 * 1480 bytes, each in a buffer of about 2.5 KiB, so up to about twice
 * the block; a small block is mostly the socket buffer's own overhead.
 */
static uint64_t block_truesize(unsigned int blksize)
{
	return 2 * ((uint64_t)blksize + 4) + 1024;
}

int lzb_tftp_rcvbuf_for(unsigned int blksize, unsigned int windowsize)
{
	/* SO_RCVBUF's value is doubled by the kernel: ask for half */
	uint64_t ask = (block_truesize(blksize) * windowsize + 1) / 2;

	if (ask < RCVBUF_ASK_MIN)
		return RCVBUF_ASK_MIN;
	return ask > RCVBUF_ASK_MAX ? RCVBUF_ASK_MAX : (int)ask;
}

static int family_index(int family)
{
	return family == AF_INET6 ? 1 : 0;
}

static int udp_socket(int family)
{
	return socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

void lzb_tftp_spares_make(struct lzb_tftp_spares *s, unsigned int n,
			  int bytes)
{
	static const int families[2] = { AF_INET, AF_INET6 };

	if (n > LZB_TFTP_SPARES_MAX)
		n = LZB_TFTP_SPARES_MAX;
	for (int i = 0; i < 2; i++) {
		while (s->n[i] < n) {
			int fd = udp_socket(families[i]);

			if (fd < 0)
				break;
			if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes,
				       sizeof(bytes))) {
				close(fd);
				break;
			}
			s->fd[i][s->n[i]++] = fd;
		}
	}
}

void lzb_tftp_spares_close(struct lzb_tftp_spares *s)
{
	for (int i = 0; i < 2; i++)
		while (s->n[i])
			close(s->fd[i][--s->n[i]]);
}

int lzb_tftp_socket(int family, int bytes)
{
	int fd = udp_socket(family);

	if (fd < 0)
		return -errno;
	/* as root: any size; else capped at net.core.rmem_max */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
	return fd;
}

int lzb_tftp_spare_take(struct lzb_tftp_spares *s, int family)
{
	int i = family_index(family);

	return s->n[i] ? s->fd[i][--s->n[i]] : -1;	/* all alike */
}

int lzb_tftp_rcvbuf(int fd)
{
	socklen_t len = sizeof(int);
	int v;

	return getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len) ? 0 : v;
}

unsigned int lzb_tftp_window_fit(unsigned int want, unsigned int blksize,
				 int rcvbuf)
{
	uint64_t fit;

	if (rcvbuf <= 0)	/* not known: nothing to fit */
		return want;
	fit = (uint64_t)rcvbuf / block_truesize(blksize);
	if (fit < 1)
		fit = 1;
	return fit < want ? (unsigned int)fit : want;
}
