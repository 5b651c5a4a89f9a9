/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LAZYBOOT_VERSION_H
#define LAZYBOOT_VERSION_H

#define LAZYBOOT_VERSION "0.1.0"

#endif
