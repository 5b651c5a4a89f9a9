/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The UDP socket a TFTP try receives on, and the window it can hold
 * (tftp_socket.c).
 *
 * A windowed transfer (RFC 7440) sends a whole window before it waits for
 * an ACK, so the receive buffer must hold one: a block that finds the
 * buffer full is dropped, and go-back-N has the server send the rest of
 * the window again.  A buffer past net.core.rmem_max (212992 on Debian,
 * which the kernel doubles) needs CAP_NET_ADMIN (SO_RCVBUFFORCE), which
 * the sandboxed child has dropped.  So:
 *
 *  - spares: the child makes a few sockets with the buffer the window
 *    needs while it still has the capability, before it reads anything
 *    (fetch_sandbox.h, PREPARE; opts.tftp_spare_sockets).  A try long
 *    enough to fill more than an ordinary socket's buffer takes one
 *    (the image's stream, its bundle); a fault's chunk, a block or two,
 *    does not need one and leaves them;
 *  - with none left, a try asks for the window its buffer holds, and the
 *    fetcher says once that net.core.rmem_max is too small for it.
 */
#ifndef LZB_TFTP_SOCKET_H
#define LZB_TFTP_SOCKET_H

#define LZB_TFTP_SPARES_MAX 4	/* per address family */

struct lzb_tftp_spares {
	int fd[2][LZB_TFTP_SPARES_MAX];	/* [0] AF_INET, [1] AF_INET6 */
	unsigned int n[2];
};

/*
 * The SO_RCVBUF value (which the kernel doubles) for a window of
 * WINDOWSIZE blocks of BLKSIZE bytes, as the kernel counts them: at least
 * 1 MiB, at most 64 MiB.  What net.core.rmem_max must allow for that
 * window without CAP_NET_ADMIN.
 */
int lzb_tftp_rcvbuf_for(unsigned int blksize, unsigned int windowsize);

/*
 * Make N (at most LZB_TFTP_SPARES_MAX) sockets per family with a receive
 * buffer of BYTES, forced past net.core.rmem_max: needs CAP_NET_ADMIN.
 * Makes none of a family the kernel refuses (no IPv6) or whose buffer
 * cannot be forced; never fails.
 */
void lzb_tftp_spares_make(struct lzb_tftp_spares *s, unsigned int n,
			  int bytes);
void lzb_tftp_spares_close(struct lzb_tftp_spares *s);

/*
 * A new non-blocking UDP socket of FAMILY with a receive buffer of BYTES,
 * or as much of it as this process may set.  The fd, or -errno.
 */
int lzb_tftp_socket(int family, int bytes);
/* A spare socket of FAMILY, taken out of S; -1 if none is left. */
int lzb_tftp_spare_take(struct lzb_tftp_spares *s, int family);
/* FD's receive buffer as the kernel counts it (SO_RCVBUF); 0 unknown. */
int lzb_tftp_rcvbuf(int fd);

/* The largest window, at most WANT (and at least 1), of BLKSIZE blocks
 * that a receive buffer of RCVBUF bytes holds; WANT if RCVBUF is not
 * known (0). */
unsigned int lzb_tftp_window_fit(unsigned int want, unsigned int blksize,
				 int rcvbuf);

#endif
