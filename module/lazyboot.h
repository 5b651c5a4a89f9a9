/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LAZYBOOT_H
#define _LAZYBOOT_H

#include <linux/lazyboot.h>

#define LAZYBOOT_MODULE_VERSION "0.1.0"

int lazyboot_genl_init(void);
void lazyboot_genl_exit(void);

#endif /* _LAZYBOOT_H */
