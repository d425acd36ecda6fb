"""Child processes of the peer harness: start them, find their ports, watch their
memory, and end every one of them whatever happens to the harness."""
import ctypes
import select
import os
import signal
import subprocess
import time

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    # A child must not outlive the harness, even one killed with SIGKILL.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class HarnessError(Exception):
    """A set-up step failed; the message says which and why."""


def wait_until(what, predicate, timeout, interval=0.02):
    """Polls predicate() until it returns a true value or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise HarnessError(f"{what}: not within {timeout} s")
        time.sleep(interval)


class Procs:
    """The harness's children. stop() ends one; stop_all() ends the rest."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.live = {}

    def start(self, name, argv, env=None, stdin=subprocess.DEVNULL,
              stdout=None, text=True):
        """Starts argv; stderr goes to <log_dir>/<name>.err (and stdout too,
        unless stdout=subprocess.PIPE)."""
        err = open(os.path.join(self.log_dir, name + ".err"), "ab")
        p = subprocess.Popen(argv, env=env, stdin=stdin,
                             stdout=err if stdout is None else stdout,
                             stderr=err, preexec_fn=_die_with_parent,
                             text=text if stdout is not None else None)
        err.close()
        self.live[p.pid] = (name, p)
        return p

    def stop(self, p, timeout=15):
        """SIGTERM, then SIGKILL after timeout seconds; returns the exit status."""
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in (p.stdin, p.stdout):
            if f is not None and not f.closed:
                f.close()
        self.live.pop(p.pid, None)
        return p.returncode

    def stop_all(self):
        for _, p in list(self.live.values()):
            self.stop(p, timeout=5)

    def tail(self, name, lines=5):
        """The last lines a child wrote to stderr, for error messages."""
        try:
            with open(os.path.join(self.log_dir, name + ".err"),
                      errors="replace") as f:
                return " | ".join(f.read().strip().splitlines()[-lines:])
        except OSError:
            return ""


def run(argv, env=None, what=None, timeout=120):
    """Runs a set-up command to completion; HarnessError with its output if it
    fails."""
    r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=timeout,
                       preexec_fn=_die_with_parent)
    if r.returncode != 0:
        raise HarnessError(f"{what or ' '.join(argv)} failed "
                           f"(exit {r.returncode}): {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout


def cpu_seconds(pid):
    """User + system CPU of a process (all its threads) so far, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        # Fields after the command name, which may hold spaces: utime and stime are
        # the 14th and 15th fields of the line.
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    """VmRSS of a process in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise HarnessError(f"no VmRSS for process {pid}")


def listening_ports(pid):
    """The TCP ports process pid listens on (IPv4), from its descriptors and
    /proc/net/tcp: stunnel and s_server bind port 0 and do not say which port
    the kernel gave them."""
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = []
    with open(f"/proc/{pid}/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.append(int(fields[1].split(":")[1], 16))
    return ports


def read_line(p, what, timeout):
    """The next line a child prints on its stdout pipe, within timeout seconds."""

    ready, _, _ = select.select([p.stdout], [], [], timeout)
    line = p.stdout.readline() if ready else ""
    if not line:
        raise HarnessError(f"{what}: no answer within {timeout} s"
                           if not ready else f"{what}: it exited")
    return line.strip()
