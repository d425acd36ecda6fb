"""The peer harness's set-up: ntlsd with an enrolled client and its partitions, the TCP
echo server, stunnel4's two sides and openssl s_server, each on a port the kernel picks.
peers.py measures through them."""
import os
import re
import subprocess
import sys

import peer_procs as pp

HOST = "127.0.0.1"
SUITE = "TLS_AES_128_GCM_SHA256"


class Setup:
    """The peers of one run, and the processes and ports they are reached by."""
    def __init__(self, args, work, sock_dir):
        self.a = args
        self.w = work
        self.procs = pp.Procs(work)
        self.app = os.path.join(work, "appliance")
        self.client_root = os.path.join(work, "client")
        self.status_sock = os.path.join(sock_dir, "ntlsd.sock")
        self.home = os.path.join(work, "home")
        self.env = dict(os.environ, TRUSTLINK_CLIENT_ROOT=self.client_root)
        self.ntlsd = None
        self.ntlsd_gen = 0
        self.ports = {}
        self.pids = {}
        self.notes = []
        self.cpu = {}  # (work, size, peer) -> [load generator s, servers s, calls]
        self.server_procs = {}
        self.rnd = 0

    def start_ntlsd(self, port):
        self.ntlsd_gen += 1
        name = f"ntlsd-{self.ntlsd_gen}"
        self.ntlsd_log = os.path.join(self.w, name + ".log")
        p = self.procs.start(name, [
            self.a.ntlsd, "--root", self.app, "--name", HOST, "--listen", f"{HOST}:{port}",
            "--log", self.ntlsd_log, "--status-socket", self.status_sock]
            + (["--busy-poll", str(self.a.busy_poll)] if self.a.busy_poll else []))

        def ready():
            if p.poll() is not None:
                raise pp.HarnessError(f"{name} exited {p.returncode}: "
                                      f"{self.procs.tail(name)} {self.log_tail()}")
            return os.path.exists(self.ntlsd_log) and " ntlsd: ready" in open(
                self.ntlsd_log, errors="replace").read()
        pp.wait_until(f"{name} ready", ready, 30)
        self.ntlsd = p
        self.pids["trustlink"] = p.pid

    def log_tail(self):
        try:
            return " | ".join(open(self.ntlsd_log).read().splitlines()[-3:])
        except OSError:
            return ""

    def ntlsh(self, *argv):
        return pp.run([self.a.ntlsh, "--root", self.app] + list(argv), env=self.env,
                      what="ntlsh " + " ".join(argv[:2]))

    def vtl(self, *argv, env=None):
        return pp.run([self.a.vtl] + list(argv), env=env or self.env,
                      what="vtl " + " ".join(argv[:2]))

    def set_up_trustlink(self):
        self.start_ntlsd(0)
        self.ports["ntls"] = int(pp.run([sys.executable, self.a.ntlsd_status,
                                         self.status_sock, "--port"]).strip())
        self.server_pem = os.path.join(self.w, "server.pem")
        self.server_key = os.path.join(self.app, "server", "serverKey.pem")
        self.client_pem = os.path.join(self.client_root, "cert", "client", HOST + ".pem")
        self.client_key = os.path.join(self.client_root, "cert", "client", HOST + "Key.pem")
        pins = {}
        for role, pin in (("so", "12345678"), ("user", "87654321")):
            pins[role] = os.path.join(self.w, role + ".pin")
            fd = os.open(pins[role], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, (pin + "\n").encode())
            os.close(fd)
        self.ntlsh("sysconf", "exportCert", "-file", self.server_pem)
        self.vtl("createCert", "-n", HOST)
        self.vtl("addServer", "-n", HOST, "-c", self.server_pem, "-p", str(self.ports["ntls"]))
        self.ntlsh("client", "register", "-client", "peers", "-ip", HOST,
                   "-certificate", self.client_pem)
        self.ntlsh("partition", "create", "-partition", "echo")
        self.ntlsh("partition", "create", "-partition", "bench", "-sopinfile", pins["so"],
                   "-userpinfile", pins["user"])
        for part in ("echo", "bench"):
            self.ntlsh("client", "assignPartition", "-client", "peers", "-partition", part)
        self.ntlsh("ntls", "limits", "set", "-maxlinksperclient", str(self.a.links + 64))
        pp.wait_until("the client's slots echo and bench ready", lambda: all(
            re.search(rf" {p} .*ready", self.vtl("listSlots")) for p in ("echo", "bench")), 30,
            interval=0.1)
        # PKCS#11 as docs/pkcs11.md sets it up, in a HOME of our own whose only slot is
        # the bridged partition (as benchmarks/pkcs11_link_benchmark.sh does).
        modules = os.path.join(self.home, ".config", "pkcs11", "modules")
        os.makedirs(modules)
        for m in ("softhsm2", "opensc-pkcs11"):
            with open(os.path.join(modules, m + ".module"), "w") as f:
                f.write(f"module: {m}\nenable-in: trustlink-peers-none\n")
        self.vtl("p11", "setup", "-dir", modules)
        # One SoftHSM2 configuration serves every partition's token (docs/adr/0002).
        self.softhsm2_conf = os.path.join(self.app, "pkcs11", "softhsm2.conf")

    def start_listening(self, name, argv, **kw):
        p = self.procs.start(name, argv, **kw)

        def port():
            if p.poll() is not None:
                raise pp.HarnessError(f"{name} exited {p.returncode}: {self.procs.tail(name)}")
            ports = pp.listening_ports(p.pid)
            return ports[0] if ports else None
        return p, pp.wait_until(f"{name} listening", port, 20)

    def stunnel_conf(self, name, lines):
        path = os.path.join(self.w, name + ".conf")
        with open(path, "w") as f:
            f.write("\n".join([
                "foreground = yes", "pid =", "debug = 4",
                f"output = {os.path.join(self.w, name + '.log')}", f"[{name}]"] + lines +
                ["sslVersionMin = TLSv1.3", "sslVersionMax = TLSv1.3",
                 f"ciphersuites = {SUITE}", "verifyPeer = yes", ""]))
        return path

    def start_echo(self, name):
        echo = self.procs.start(name, [self.a.echo], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE)
        return echo, int(pp.read_line(echo, name, 10).split()[1])

    def start_stunnel_pair(self, tag, echo_port):
        """stunnel's server side in front of echo_port, and its client side in front of
        that; returns both processes and the server's TLS port and the client's port."""
        srv, tls_port = self.start_listening("stunnel-server" + tag, [
            "stunnel4", self.stunnel_conf("stunnel-server" + tag, [
                f"accept = {HOST}:0", f"connect = {HOST}:{echo_port}",
                f"cert = {self.server_pem}", f"key = {self.server_key}",
                f"CAfile = {self.client_pem}"])])
        cli, port = self.start_listening("stunnel-client" + tag, [
            "stunnel4", self.stunnel_conf("stunnel-client" + tag, [
                "client = yes", f"accept = {HOST}:0", f"connect = {HOST}:{tls_port}",
                f"cert = {self.client_pem}", f"key = {self.client_key}",
                f"CAfile = {self.server_pem}"])])
        return srv, cli, tls_port, port

    def set_up_peers(self):
        echo, self.ports["tcp"] = self.start_echo("echo")
        srv, cli, self.ports["stunnel_tls"], self.ports["stunnel"] = self.start_stunnel_pair(
            "", self.ports["tcp"])
        # The processes that serve each data target besides peer_load, for CPU per call.
        self.server_procs = {"tcp": [echo], "stunnel": [srv, cli, echo]}
        _, self.ports["s_server"] = self.start_listening("s_server", [
            "openssl", "s_server", "-accept", f"{HOST}:0", "-cert", self.server_pem,
            "-key", self.server_key, "-Verify", "1", "-CAfile", self.client_pem,
            "-verify_return_error", "-tls1_3", "-ciphersuites", SUITE, "-rev", "-quiet"])

    def fresh_server(self, peer):
        """A server process of peer's that has served nothing yet, so its memory growth
        is the links' alone: one that has run the other rows keeps freed heap (and
        stunnel glibc's cache of thread stacks), which new links reuse unseen. Returns
        the process whose memory is measured, the load target and what to stop after."""
        if peer == "trustlink":
            self.procs.stop(self.ntlsd)
            self.start_ntlsd(self.ports["ntls"])
            return self.ntlsd, f"trustlink:{self.client_root}", []
        echo, echo_port = self.start_echo("echo-links")
        if peer == "tcp":
            return echo, f"tcp:{echo_port}", [echo]
        srv, cli, _, port = self.start_stunnel_pair("-links", echo_port)
        return srv, f"tcp:{port}", [cli, srv, echo]
