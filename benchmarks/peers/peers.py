#!/usr/bin/env python3
"""The peer harness: trustlink against stunnel4, plain TCP and openssl s_server on
loopback, the same work through each, as same-run ratios (docs/benchmarks.md).

    benchmarks/peers/run [--quick] [--rounds N] [--seconds S] [--slices N] [--links N] [--keep]
                         [--rows KEY,KEY...] [--busy-poll US]

run builds with Bazel (-c opt) and starts this with the programs' paths. It starts
  - a real ntlsd with a registered client (vtl createCert, addServer; ntlsh client
    register), a partition "echo" (the software partition's echo op) and a partition
    "bench" with a SoftHSM2 token (PKCS#11 through the link, as vtl p11 setup sets it up);
  - peer_echo_server: plain TCP, the same echo frames (benchmarks/peers/framing.h);
  - stunnel4 server (in front of the echo server) and client (a plain local port), each
    pinned to the other's self-signed certificate, TLS 1.3, TLS_AES_128_GCM_SHA256, with
    the very keys ntlsd and the client use;
  - openssl s_server -Verify 1 -rev with the same keys and suite (handshake rows);
and runs peer_load (one measurement per process) through each, in rounds whose peer
order rotates. --busy-poll US turns trustlink's opt-in busy-poll on (client and ntlsd;
the header and every row title then say so: it is not the default). The data rows also
give the CPU per call of the load generator and the serving processes (/proc, getrusage). Everything is on 127.0.0.1 with ports from the kernel, in a temporary
folder removed at exit, and every child is ended at exit (and dies with the harness).
Exit status 1 when any row has no figure; the reasons are printed.
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import namedtuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_procs as pp  # noqa: E402
import peer_setup  # noqa: E402
import peer_table  # noqa: E402

Row = namedtuple("Row", "key title better subject has_stunnel other other_name")
ROWS = [
    Row("rtt64", "round trips/s, 64 B, one link", "higher", "trustlink", True, "tcp", "TCP"),
    Row("rtt1k", "round trips/s, 1 KiB", "higher", "trustlink", True, "tcp", "TCP"),
    Row("inflight", "64 calls in flight, calls/s", "higher", "trustlink", True, "tcp", "TCP"),
    Row("bulk", "bulk, 256 KiB echoes, MB/s", "higher", "trustlink", True, "tcp", "TCP"),
    Row("hs_new", "new mTLS handshakes + 1 round trip, /s", "higher", "trustlink", True,
        "s_server", "s_server"),
    Row("hs_resumed", "resumed handshakes + 1 round trip, /s", "higher", "trustlink", True,
        "s_server", "s_server"),
    Row("memory", "memory per idle link, KiB of server RSS", "lower", "trustlink", True, "tcp",
        "TCP"),
    Row("rampup", "LINKS links up from cold, s", "lower", "trustlink", True, "tcp", "TCP"),
    Row("storm", "LINKS links back after an ntlsd restart, s (peers: from cold)", "lower",
        "trustlink", True, "tcp", "TCP"),
    Row("p11_ec", "PKCS#11 ECDSA P-256 signs/s, link vs SoftHSM2 direct", "higher", "link",
        False, "direct", "direct"),
    Row("p11_rsa", "PKCS#11 RSA-2048 signs/s, link vs SoftHSM2 direct", "higher", "link",
        False, "direct", "direct"),
]


class MeasureError(Exception):
    pass


def rotated(items, k):
    k %= len(items)
    return items[k:] + items[:k]


class Harness(peer_setup.Setup):
    """The measurements and the rounds, over the peers Setup starts."""

    def load(self, work, target, *extra, timeout=None):
        argv = [self.a.load, work, "--target", target] + [str(x) for x in extra]
        if target.startswith("trustlink:") and self.a.busy_poll:
            argv += ["--busy-poll", str(self.a.busy_poll)]
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=timeout or self.a.seconds + 60,
                               preexec_fn=pp._die_with_parent)
        except subprocess.TimeoutExpired:
            raise MeasureError(f"peer_load {work} {target} did not finish")
        found = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
        if "cipher" in found:
            self.notes.append(f"{target.split(':')[0]}: {found['cipher']}")
        if r.returncode != 0 or "result" not in found:
            raise MeasureError(f"peer_load {work} {target}: "
                               f"{found.get('error') or r.stderr.strip() or 'no result'}")
        self.last_cpu = float(found.get("cpu_s", "nan"))
        return float(found["result"])

    def server_pids(self, peer):
        procs = [self.ntlsd] if peer == "trustlink" else self.server_procs[peer]
        return [p.pid for p in procs]

    def measured_call(self, peer, work, size, secs, target):
        """One data measurement; also adds its CPU per call (peer_load's own and the
        serving processes') to self.cpu[(work, size, peer)]."""
        pids = self.server_pids(peer)
        before = sum(pp.cpu_seconds(pid) for pid in pids)
        rate = self.load(work, target, "--size", size, "--depth", 64, "--seconds", secs)
        served = sum(pp.cpu_seconds(pid) for pid in pids) - before
        calls = rate * secs * (1e6 / size if work == "bulk" else 1)
        if calls > 0 and self.last_cpu == self.last_cpu:  # not NaN
            c = self.cpu.setdefault((work, size, peer), [0.0, 0.0, 0.0])
            c[0] += self.last_cpu
            c[1] += served
            c[2] += calls
        return rate

    def data_targets(self):
        return {"trustlink": f"trustlink:{self.client_root}",
                "stunnel": f"tcp:{self.ports['stunnel']}", "tcp": f"tcp:{self.ports['tcp']}"}

    def interleaved(self, rnd, peers, measure):
        """Each peer's rate as the mean of --slices equal slices, the peers taking turns
        slice by slice (in an order rotated each round), so a burst of other load on
        the machine falls on all of them alike. measure(peer, seconds) -> rate."""
        got = {peer: [] for peer in peers}
        for _ in range(self.a.slices):
            for peer in rotated(peers, rnd):
                got[peer].append(measure(peer, self.a.seconds / self.a.slices))
        return {peer: sum(v) / len(v) for peer, v in got.items()}

    def data_row(self, rnd, work, size):
        targets = self.data_targets()
        return self.interleaved(rnd, ["trustlink", "stunnel", "tcp"], lambda peer, secs: (
            self.measured_call(peer, work, size, secs, targets[peer])))

    def cpu_notes(self):
        names = {"rtt": "round trip", "inflight": "call in flight", "bulk": "bulk echo"}
        out = []
        for (work, size, peer), (client, served, calls) in sorted(self.cpu.items()):
            out.append(f"CPU per {names[work]} of {size:,} B, {peer}: "
                       f"{(client + served) / calls * 1e6:.1f} us (load generator "
                       f"{client / calls * 1e6:.1f}, serving processes "
                       f"{served / calls * 1e6:.1f}), over {calls:,.0f} calls")
        return out

    def handshake_row(self, rnd, resume):
        targets = {"trustlink": f"ntls:{self.ports['ntls']}",
                   "stunnel": f"echo-tls:{self.ports['stunnel_tls']}",
                   "s_server": f"line-tls:{self.ports['s_server']}"}
        extra = ["--cert", self.client_pem, "--key", self.client_key, "--pin", self.server_pem]
        extra += ["--resume"] if resume else []
        return self.interleaved(rnd, ["trustlink", "stunnel", "s_server"], lambda peer, secs: self.load(
            "handshake", targets[peer], "--seconds", secs, *extra))

    def links(self, peer):
        """One links run on a fresh server: ramp-up seconds and KiB of server RSS per
        link; for trustlink also the restart storm. Returns (memory, rampup, storm)."""
        n = self.a.links
        timeout = 120
        server, target, extra = self.fresh_server(peer)
        before = pp.rss_kb(server.pid)
        p = self.procs.start(f"load-links-{peer}", [
            self.a.load, "links", "--target", target, "--count", str(n),
            "--timeout", str(timeout)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            up = self.expect(p, "up", timeout + 10)
            memory = (pp.rss_kb(server.pid) - before) / n
            storm = None
            if peer == "trustlink":
                self.note_admission("ramp-up")
                p.stdin.write("down\n")
                p.stdin.flush()
                self.procs.stop(self.ntlsd)
                self.expect(p, "down", timeout + 10)
                p.stdin.write("go\n")
                p.stdin.flush()
                self.start_ntlsd(self.ports["ntls"])
                storm = self.expect(p, "back", timeout + 10)
                self.note_admission("storm")
            return memory, up, storm
        finally:
            # End of input closes the links (tl_client_close) and ends peer_load.
            try:
                p.stdin.close()
                p.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self.procs.stop(p)
            for q in extra:
                self.procs.stop(q)

    def note_admission(self, phase):
        """What ntlsd's counters say about the links' admission in this phase (this ntlsd
        served nothing else). Not its log: that keeps at most 20 eviction lines per 10 s,
        which hid about 1,500 evictions a ramp-up behind a steady '20 evicted'."""
        out = pp.run([sys.executable, self.a.ntlsd_status, self.status_sock])
        stat = {m[0]: int(m[1]) for m in re.findall(r"^stat (\w+) (\d+)$", out, re.M)}
        refused = sum(v for k, v in stat.items() if k.startswith("refused_"))
        self.notes.append(f"round {self.rnd + 1}, {phase} of {self.a.links:,} links (ntlsd counters): "
                          f"{stat.get('handshakes_full', 0)} full and "
                          f"{stat.get('handshakes_resumed', 0)} resumed handshakes, "
                          f"{stat.get('evicted_unauthenticated', 0)} evicted and {refused} refused")

    def expect(self, p, word, timeout):
        line = pp.read_line(p, f"peer_load links ({word})", timeout)
        if not line.startswith(word):
            raise MeasureError(f"peer_load links: {line}")
        return float(line.split()[1]) if " " in line else 0.0

    def p11_rows(self):
        env = dict(os.environ, TL_BENCH_LINK_HOME=self.home,
                   TL_BENCH_LINK_SOFTHSM2_CONF=self.softhsm2_conf,
                   TRUSTLINK_CLIENT_ROOT=self.client_root)
        try:
            out = pp.run([self.a.pkcs11_bench, "--benchmark_format=json"], env=env,
                         what="pkcs11_benchmark", timeout=300)
        except pp.HarnessError as e:
            raise MeasureError(str(e))
        try:
            benchmarks = json.loads(out)["benchmarks"]
        except (ValueError, KeyError) as e:
            raise MeasureError(f"pkcs11_benchmark printed no benchmark JSON ({e}): "
                               f"{out.strip()[:200]!r}")
        rates = {}
        for b in benchmarks:
            if b.get("error_occurred"):
                raise MeasureError(f"pkcs11_benchmark {b['name']}: {b.get('error_message')}")
            # Names carry the run's settings: BM_Pkcs11SignDirect_Rsa2048/min_time:1.000/...
            rates[b["name"].split("/")[0]] = b.get("items_per_second")
        rows = []
        for alg in ("EcdsaP256", "Rsa2048"):
            row = {"link": rates.get("BM_Pkcs11SignBridged_" + alg),
                   "direct": rates.get("BM_Pkcs11SignDirect_" + alg)}
            if None in row.values():
                raise MeasureError(f"pkcs11_benchmark gave no {alg} rates; it ran "
                                   f"{', '.join(sorted(rates)) or 'nothing'}")
            rows.append(row)
        return rows

    # ---- the rounds --------------------------------------------------------------------

    def round(self, rnd, results, errors):
        self.rnd = rnd
        def record(keys, fn):
            try:
                got = fn()
            except (MeasureError, pp.HarnessError) as e:
                for k in keys:
                    errors.setdefault(k, []).append(f"round {rnd + 1}: {e}")
                return
            for k, v in zip(keys, got):
                results.setdefault(k, []).append(v)

        steps = [
            (["rtt64"], lambda: [self.data_row(rnd, "rtt", 64)]),
            (["rtt1k"], lambda: [self.data_row(rnd, "rtt", 1024)]),
            (["inflight"], lambda: [self.data_row(rnd, "inflight", 64)]),
            (["bulk"], lambda: [self.data_row(rnd, "bulk", 256 * 1024)]),
            (["hs_new"], lambda: [self.handshake_row(rnd, False)]),
            (["hs_resumed"], lambda: [self.handshake_row(rnd, True)]),
            (["memory", "rampup", "storm"], lambda: self.links_rows(rnd)),
            (["p11_ec", "p11_rsa"], self.p11_rows),
        ]
        # A step measures several rows at once; it runs when any of them was asked for.
        steps = [(keys, fn) for keys, fn in steps if set(keys) & self.a.rows]
        # The rows rotate too, so no row always runs first or right after the storm.
        for keys, fn in rotated(steps, rnd):
            print(f"  round {rnd + 1}: {', '.join(keys)}", file=sys.stderr, flush=True)
            record(keys, fn)

    def links_rows(self, rnd):
        memory, rampup, storm = {}, {}, {}
        for peer in rotated(["trustlink", "stunnel", "tcp"], rnd):
            memory[peer], rampup[peer], s = self.links(peer)
            # Against the peers' cold start: they have no restart to come back from.
            storm[peer] = s if peer == "trustlink" else rampup[peer]
        return memory, rampup, storm


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="one short round with 100 links: a smoke test that every row "
                         "produces a number")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.0,
                    help="how long each rate is measured")
    ap.add_argument("--slices", type=int, default=5,
                    help="the peers take turns this many times within each rate")
    ap.add_argument("--links", type=int, default=1000)
    ap.add_argument("--keep", action="store_true",
                    help="keep the work folder (logs, configurations) and say where")
    ap.add_argument("--busy-poll", type=int, default=0, metavar="US",
                    help="trustlink's opt-in busy-poll budget in microseconds, on the "
                         "client and ntlsd (0, the default, is off)")
    ap.add_argument("--rows", default=",".join(r.key for r in ROWS),
                    help="only these rows, comma-separated keys: "
                         + ", ".join(r.key for r in ROWS))
    for b in ("ntlsd", "ntlsh", "vtl", "load", "echo", "pkcs11-bench", "ntlsd-status"):
        ap.add_argument("--" + b, required=True, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.seconds, a.slices, a.links = 1, 0.2, 1, 100
    if a.rounds < 1 or a.slices < 1 or a.seconds <= 0 or not 1 <= a.links <= 5000:
        ap.error("--rounds and --slices must be at least 1, --seconds positive, "
                 "--links 1 to 5000")
    if a.busy_poll < 0:
        ap.error("--busy-poll wants microseconds, 0 (off) or more; ntlsd and the "
                 "library refuse what is over their limit")
    a.rows = set(k for k in a.rows.split(",") if k)
    unknown = a.rows - {r.key for r in ROWS}
    if unknown or not a.rows:
        ap.error(f"--rows: unknown row {', '.join(sorted(unknown)) or '(none given)'}; "
                 f"the rows are {', '.join(r.key for r in ROWS)}")
    for b in ("ntlsd", "ntlsh", "vtl", "load", "echo", "pkcs11_bench", "ntlsd_status"):
        setattr(a, b, os.path.abspath(getattr(a, b)))
    return a


def main():
    a = parse_args()
    for tool in ("stunnel4", "openssl", "unshare"):
        if shutil.which(tool) is None:
            sys.exit(f"peers: {tool} is not installed (tools/setup installs the packages "
                     f"in tools/packages.txt)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 4 * a.links + 256:
        sys.exit(f"peers: {a.links} links need about {4 * a.links + 256} descriptors; "
                 f"the hard limit is {hard} (use --links or raise ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # SIGTERM (a Bazel timeout, a kill) ends the run through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = tempfile.mkdtemp(prefix="peers.", dir=os.environ.get("TEST_TMPDIR"))
    sock_dir = tempfile.mkdtemp(prefix="peers.", dir="/tmp")  # unix socket paths are short
    h = Harness(a, work, sock_dir)
    results, errors = {}, {}
    started = time.monotonic()
    try:
        print(f"peers: setting up in {work}", file=sys.stderr, flush=True)
        h.set_up_trustlink()
        h.set_up_peers()
        for rnd in range(a.rounds):
            h.round(rnd, results, errors)
    except pp.HarnessError as e:
        errors.setdefault("set-up", []).append(str(e))
    finally:
        h.procs.stop_all()
        if a.keep:
            print(f"peers: kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(sock_dir, ignore_errors=True)
    spin = f" [trustlink busy-poll {a.busy_poll} us]" if a.busy_poll else ""
    rows = [r._replace(title=r.title.replace("LINKS", f"{a.links:,}") + spin) for r in ROWS
            if r.key in a.rows]
    print(f"\n{a.rounds} round(s), {a.seconds} s per rate in {a.slices} slice(s), "
          f"{a.links:,} links, "
          f"{time.monotonic() - started:.0f} s, load average "
          f"{os.getloadavg()[0]:.1f}, trustlink "
          + (f"with busy-poll {a.busy_poll} us on client and ntlsd (NOT the default)"
             if a.busy_poll else "as by default (busy-poll off)") + "\n")
    print(peer_table.render(rows, results, a.rounds))
    for note in list(dict.fromkeys(h.notes)) + h.cpu_notes():  # in order, once each
        print(f"- {note}")
    # Complete: every peer of the row has a figure in every round.
    missing = [r.key for r in rows
               if len(results.get(r.key, [])) < a.rounds or any(
                   v.get(p) is None
                   for v in results[r.key]
                   for p in [r.subject, r.other] + (["stunnel"] if r.has_stunnel else []))]
    if errors or missing:
        for k, msgs in errors.items():
            for m in msgs:
                print(f"FAILED {k}: {m}", file=sys.stderr)
        print(f"peers: rows without a figure: {', '.join(missing) or 'none'}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
