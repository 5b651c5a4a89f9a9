/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `lazybootd restore`: a lazy restore as a systemd service's main process.
 * Runs the same restore as `lazyboot restore`, tells systemd READY=1 when
 * the readiness probe passes (or every page is resident, without a
 * probe) and STATUS= with the progress, then stays while the restored
 * root lives and exits as it did, so the unit lives as long as the app.
 */
#ifndef LAZYBOOT_DAEMON_RESTORE_H
#define LAZYBOOT_DAEMON_RESTORE_H

/* argv[0] is "restore"; returns the process's exit status. */
int lzbd_restore_main(int argc, char **argv);

/* Where `lazybootd run NAME` finds NAME.conf and makes NAME's workdir. */
#define LZBD_CONFIG_DIR "/etc/lazyboot"
#define LZBD_RUN_DIR "/run/lazyboot"

/*
 * `lazybootd run NAME [options]` (argv[0] is "run"): the restore
 * LZBD_CONFIG_DIR/NAME.conf describes, in LZBD_RUN_DIR/NAME.
 */
int lzbd_run_main(int argc, char **argv);

#endif
