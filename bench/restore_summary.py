#!/usr/bin/python3
"""The figures of bench/restore-compare runs, from their raw files.

    restore_summary.py run RUN_DIR RATE     one run's summary.md
    restore_summary.py matrix RUN_DIR...     one row per run (stream-matrix)

A run directory holds runs.tsv (one line per restore: times, bytes the
client namespace received, verified), logs/METHOD-ROUND.status (the
pager's status file at the end) and .time (/usr/bin/time), and
curl-stream.tsv (curl fetching the image's stream over the same link,
once per round).  Medians are over the verified runs.
"""
import csv
import os
import re
import statistics
import sys

NAMES = {
    'lazyboot': 'a. lazyboot restore (hot set eager, rest streamed)',
    'lazyboot-nosandbox': "a''. lazyboot restore, fetcher not sandboxed",
    'lazyboot-noprofile': "a'. lazyboot restore, no hot-set profile",
    'lazyboot-nostream': 'a-chunks. lazyboot restore, background chunk by chunk (--no-stream)',
    'lazyboot-hold': "a-hold. lazyboot restore, the stream held while a fault's chunk is fetched (--stream-yield hold)",
    'lazyboot-noyield': "a-noyield. lazyboot restore, the stream's window unbounded (--stream-yield off)",
    'lazyboot-tftp': 'a-tftp. lazyboot restore over tftp:// from tftpd-hpa (blksize 65464, no windowsize)',
    'lazyboot-tftp-nostream': 'a-tftp-chunks. the same over tftp://, --no-stream',
    'lazyboot-atftp': 'a-atftp. lazyboot restore over tftp:// from atftpd (blksize 65464, windowsize 16)',
    'full': 'b. fetch the whole image dir, then criu restore',
    'criu-lazy': 'c. criu page-server --lazy-pages + lazy-pages',
    'local': 'd. lazyboot restore from file:// on tmpfs (no network)',
}
CHUNK = 65536	# pack's default chunk size: one chunk's transfer time
TIMES = ('ready_s', 'resident_s', 'rx_bytes_ready', 'rx_bytes_resident')


BASE = '@base'	# a method run with the BASELINE tree's lazyboot


def unbased(m):
    """The method M@base is a run of."""
    return m[:-len(BASE)] if m.endswith(BASE) else m


def name(m):
    if m.endswith(BASE):
        return NAMES[unbased(m)].replace('. ', f"{BASE}. ", 1) + ' (the baseline build)'
    return NAMES[m]


def letter(m):
    return name(m).split('.')[0]


def read_tsv(path):
    try:
        with open(path) as f:
            return list(csv.DictReader(f, delimiter='\t'))
    except OSError:
        return []


def link_bps(rate):
    """1gbit, 100mbit, ... in bit/s; None if it does not parse."""
    r = re.fullmatch(r'([0-9.]+)([kmg]?)bit', rate.lower())
    if not r:
        return None
    return float(r.group(1)) * {'': 1, 'k': 1e3, 'm': 1e6, 'g': 1e9}[r.group(2)]


def pager_figures(logs, m, rnd):
    """The pager's status at the end and /usr/bin/time of one restore."""
    fig = {}
    try:
        with open(os.path.join(logs, f"{m}-{rnd}.status")) as f:
            for line in f:
                k, _, v = line.strip().partition('=')
                fig[k] = v
        with open(os.path.join(logs, f"{m}-{rnd}.time")) as f:
            t = f.read().split()
        fig['cpu_s'] = float(t[t.index('cpu_s') + 1]) + float(t[t.index('cpu_s') + 2])
        fig['maxrss_kb'] = float(t[t.index('maxrss_kb') + 1])
    except (OSError, ValueError, IndexError):
        pass
    return fig


class Run:
    """One restore-compare run: medians per method and what follows."""

    def __init__(self, run_dir, rate):
        self.rows = read_tsv(os.path.join(run_dir, 'runs.tsv'))
        self.curls = read_tsv(os.path.join(run_dir, 'curl-stream.tsv'))
        self.logs = os.path.join(run_dir, 'logs')
        self.rate = rate
        self.bps = link_bps(rate)
        self.order = [m for n in NAMES for m in (n, n + BASE)
                      if any(r['method'] == m for r in self.rows)]
        self.med = {m: self._medians(m) for m in self.order}
        self.pager = {m: self._pager(m) for m in self.order
                      if m.startswith('lazyboot') or m == 'local'}

    def _medians(self, m):
        mine = [r for r in self.rows if r['method'] == m]
        ok = [r for r in mine if r['verified'] == 'yes']
        done = [r for r in mine if not r['verified'].startswith('FAILED')]
        use = ok or done	# unverified runs are shown, marked, when none verified
        x = {k: statistics.median(float(r[k]) for r in use) if use else None
             for k in TIMES}
        x['n'] = f"{len(ok)}/{len(mine)}" + ('' if ok or not use else ' (medians of unverified runs)')
        return x

    def _pager(self, m):
        figs = [pager_figures(self.logs, m, r['round']) for r in self.rows
                if r['method'] == m and r['verified'] == 'yes']

        def md(key, scale=1.0):
            v = [float(x[key]) * scale for x in figs if key in x]
            return statistics.median(v) if v else None
        p = {'faults': md('faults'), 'p50_ms': md('latency_p50_us', 1e-3),
             'p99_ms': md('latency_p99_us', 1e-3), 'max_ms': md('latency_max_us', 1e-3),
             'bg_faults': md('bg_faults'), 'bg_p99_ms': md('bg_latency_p99_us', 1e-3),
             'cpu_s': md('cpu_s'), 'rss_mib': md('maxrss_kb', 1.0 / 1024),
             'tftp_gaps': md('tftp_gaps'), 'tftp_cut': md('tftp_windows_cut'),
             'gib': md('pages_total', 1.0 / 2**18)}	# 4 KiB pages
        p['cpu_per_gib'] = p['cpu_s'] / p['gib'] if p['cpu_s'] is not None and p['gib'] else None
        return p

    def get(self, m, k):
        return self.med.get(m, {}).get(k)

    def udp_drops(self, m):
        """Median datagrams the client namespace dropped on a full receive
        buffer during M's verified restores (RcvbufErrors); None in runs
        made before runs.tsv had the column."""
        v = [int(r['udp_rcvbuf_drops']) for r in self.rows
             if r['method'] == m and r['verified'] == 'yes' and
             (r.get('udp_rcvbuf_drops') or '').isdigit()]
        return statistics.median(v) if v else None

    def t_bound(self, m='lazyboot'):
        """d.'s ready + M's bytes before ready at the link's rate."""
        loc, a = self.get('local', 'ready_s'), self.get(m, 'rx_bytes_ready')
        if self.bps and loc is not None and a is not None:
            return loc + a * 8 / self.bps
        return None

    def curl_bps(self):
        v = [float(r['bytes']) * 8 / float(r['seconds']) for r in self.curls
             if float(r['seconds'] or 0) > 0]
        return (statistics.median(v), len(v)) if v else (None, 0)

    def background_bps(self, m):
        """What M received from ready to full residency, over that time."""
        x = self.med.get(m)
        if not x or x['resident_s'] is None or x['ready_s'] is None or \
                x['resident_s'] <= x['ready_s']:
            return None
        return (x['rx_bytes_resident'] - x['rx_bytes_ready']) * 8 / (x['resident_s'] - x['ready_s'])


def fmt(v, d=2):
    return '-' if v is None else f"{v:.{d}f}"


def div(a, b):
    return None if a is None or not b else a / b


def print_run(run):
    b = run.med.get('full')
    print('| method | runs verified | ready (s) | ready vs b | full residency (s) | residency vs b | MiB received before ready | vs b | MiB received in all |')
    print('|---|---|---|---|---|---|---|---|---|')
    for m in run.order:
        x = run.med[m]

        def vs(k):
            return fmt(div(x[k], b[k])) if b else '-'

        def mib(v):
            return None if v is None else v / 2**20
        print(f"| {name(m)} | {x['n']} | {fmt(x['ready_s'])} | {vs('ready_s')} | "
              f"{fmt(x['resident_s'])} | {vs('resident_s')} | {fmt(mib(x['rx_bytes_ready']), 1)} | "
              f"{vs('rx_bytes_ready')} | {fmt(mib(x['rx_bytes_resident']), 1)} |")
    print('\nMedians over the verified runs; bytes are what the client namespace received on the veth (all protocols, headers included).')
    s, u = run.med.get('lazyboot'), run.med.get('lazyboot-nosandbox')
    if s and u and all(s[k] and u[k] for k in ('ready_s', 'resident_s')):
        print(f"\nThe sandboxed fetcher's cost (a. over a'', medians): time to ready "
              f"x{s['ready_s'] / u['ready_s']:.3f}, time to full residency "
              f"x{s['resident_s'] / u['resident_s']:.3f}.")
    if run.pager:
        print('\n| method | faults | fault p50 (ms) | fault p99 (ms) | fault max (ms) | '
              'faults in the background | their p99 (ms) | CPU s (lazyboot + children) | '
              'CPU s per GiB | peak RSS (MiB) |')
        print('|---|---|---|---|---|---|---|---|---|---|')
    for m, p in run.pager.items():
        print(f"| {name(m)} | {fmt(p['faults'], 0)} | {fmt(p['p50_ms'])} | {fmt(p['p99_ms'])} | "
              f"{fmt(p['max_ms'])} | {fmt(p['bg_faults'], 0)} | {fmt(p['bg_p99_ms'])} | "
              f"{fmt(p['cpu_s'])} | {fmt(p['cpu_per_gib'])} | {fmt(p['rss_mib'], 1)} |")
    if run.pager:
        print('\nFaults in the background: read after the background (the stream, or chunk by '
              'chunk) began; the bench GETs a random key every poll from ready to residency.')

    lz, loc = run.med.get('lazyboot'), run.med.get('local')
    tb = run.t_bound()
    if tb and lz and lz['ready_s']:
        print(f"\nT_bound = d.'s ready ({loc['ready_s']:.2f} s: the restore from tmpfs) + "
              f"a.'s bytes before ready at {run.rate} ({tb - loc['ready_s']:.2f} s) "
              f"= {tb:.2f} s; a. ready / T_bound = {lz['ready_s'] / tb:.2f}.")
    if run.bps and lz and b and b['rx_bytes_resident'] and lz['resident_s']:
        eager_xfer = b['rx_bytes_resident'] * 8 / run.bps
        print(f"b.'s transfer time at {run.rate}: {eager_xfer:.2f} s for "
              f"{b['rx_bytes_resident'] / 2**20:.1f} MiB; a. full residency / b. = "
              f"{lz['resident_s'] / b['resident_s']:.2f}, / b.'s transfer time = "
              f"{lz['resident_s'] / eager_xfer:.2f}; a.'s goodput "
              f"{lz['rx_bytes_resident'] * 8 / lz['resident_s'] / 1e6:.0f} Mbit/s.")
    cbps, ncurl = run.curl_bps()
    streamed = ('lazyboot', 'lazyboot-tftp', 'lazyboot-atftp')
    for m in [m for m in run.order if unbased(m) in streamed]:
        bg = run.background_bps(m)
        if bg is None or cbps is None:
            continue
        print(f"{letter(m)}.'s background goodput (bytes received from ready to full "
              f"residency, over that time): {bg / 1e6:.0f} Mbit/s; curl of the stream over "
              f"HTTP: {cbps / 1e6:.0f} Mbit/s (median of {ncurl}); "
              f"ratio {bg / cbps:.2f}.")
    tftp = []
    for m in [m for m in run.order if 'tftp' in m]:
        d, p = run.udp_drops(m), run.pager.get(m, {})
        said = ([f"{d:.0f} UDP datagrams dropped on a full receive buffer"] if d is not None else []) + \
            ([f"{p['tftp_gaps']:.0f} go-back-N gaps, {p['tftp_cut']:.0f} windows cut"]
             if p.get('tftp_gaps') is not None else [])
        if said:
            tftp.append(f"{letter(m)}. " + ', '.join(said))
    if tftp:
        print("TFTP, per restore (medians; drops: the client namespace's RcvbufErrors; "
              "gaps and cuts: the pager's status): " + '; '.join(tftp) + '.')
    c = run.med.get('criu-lazy')
    if lz and c and lz['ready_s'] and c['ready_s']:
        print(f"a. ready / c. ready = {lz['ready_s'] / c['ready_s']:.2f}.")


def run_params(run_dir):
    """SIZE, RATE, RTT from a stream-matrix run's name: 256mib-1gbit-rtt0.5ms."""
    r = re.fullmatch(r'(\d+)mib-([0-9.]+[kmg]?bit)-rtt([0-9.]+)ms', os.path.basename(run_dir.rstrip('/')))
    return (int(r.group(1)), r.group(2), r.group(3)) if r else None


def print_matrix(run_dirs):
    """Per run (size, link): the issue's figures, a. over HTTP and TFTP."""
    print('| dataset | link, RTT | transport | ready (s) | ready / eager | ready / CRIU lazy | '
          'ready / T_bound | residency (s) | residency / eager | background goodput / curl | '
          'fault p99 (ms) | fault p99 in the background (ms) | 2 RTT + 1 chunk (ms) | '
          'pager CPU s per GiB | pager peak RSS (MiB) | verified |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    runs = [(run_params(d), d) for d in run_dirs]
    runs = sorted((r for r in runs if r[0]), key=lambda r: (r[0][0], float(r[0][2])))	# size, then RTT
    for p, d in runs:
        run = Run(d, p[1])
        if not run.rows:
            print(f"| {p[0]} MiB | {p[1]}, {p[2]} ms | - | no results (see {os.path.basename(d.rstrip('/'))}.log) |")
            continue
        cbps, _ = run.curl_bps()
        for m, transport in (('lazyboot', 'HTTP'), ('lazyboot-hold', 'HTTP, hold'),
                             ('lazyboot-noyield', 'HTTP, window unbounded'),
                             ('lazyboot-atftp', 'TFTP, windowsize 16 (atftpd)'),
                             ('lazyboot-tftp', 'TFTP, lock-step (tftpd-hpa)')):
            if m not in run.med:
                continue
            tb = run.t_bound(m)
            ready, res = run.get(m, 'ready_s'), run.get(m, 'resident_s')
            pg = run.pager.get(m, {})
            p99_target = 2 * float(p[2]) + (CHUNK * 8 / run.bps * 1e3 if run.bps else 0)
            print(f"| {p[0]} MiB | {p[1]}, {p[2]} ms | {transport} | {fmt(ready)} | "
                  f"{fmt(div(ready, run.get('full', 'ready_s')))} | "
                  f"{fmt(div(ready, run.get('criu-lazy', 'ready_s')))} | "
                  f"{fmt(div(ready, tb))} | {fmt(res)} | "
                  f"{fmt(div(res, run.get('full', 'resident_s')))} | "
                  f"{fmt(div(run.background_bps(m), cbps))} | {fmt(pg.get('p99_ms'), 1)} | "
                  f"{fmt(pg.get('bg_p99_ms'), 1)} | {fmt(p99_target, 1)} | "
                  f"{fmt(pg.get('cpu_per_gib'), 1)} | {fmt(pg.get('rss_mib'), 1)} | "
                  f"{run.med[m]['n']} |")
    print('\nEager (b.) and CRIU lazy-pages (c.) are measured in the same run as each row; '
          'T_bound = d. (the lazy restore from tmpfs) ready + the row\'s bytes before ready at the '
          'link rate; background goodput = bytes received from ready to residency over that '
          'time, against curl fetching the image\'s stream over HTTP on the same link.')


def main(argv):
    if len(argv) == 4 and argv[1] == 'run':
        print_run(Run(argv[2], argv[3]))
    elif len(argv) >= 3 and argv[1] == 'matrix':
        print_matrix(argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main(sys.argv)
