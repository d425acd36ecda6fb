"""trustlink.Server: an NTLS server (the appliance side, like ntlsd) inside this process,
serving the registry under an appliance root with the built-in software partition.
"""

import atexit
import ctypes
import weakref

from trustlink import _lib, _stats
from trustlink._errors import check
from trustlink._handle import Owned
from trustlink.settings import _text

_live_servers = weakref.WeakSet()


class Server(Owned):
    """Server(root, appliance_name, address="127.0.0.1", port=0) makes server.pem on first
    use and listens once start() returns; port 0 lets the kernel pick (read .port).

    htl=True also serves the Host Trust Link from <root>/htl. Log lines go to stderr, or to
    trustlink.set_log_handler / log_to_python. Thread safety: close() (or stop()) from any
    thread; it must not race start().
    """

    def __init__(self, root, appliance_name=None, *, address="127.0.0.1", port=0,
                 threads=1, htl=False):
        self._lib = lib = _lib.lib()
        opts = ctypes.c_void_p()
        check(lib.tl_server_options_new(ctypes.byref(opts)))
        handle = ctypes.c_void_p()
        try:
            check(lib.tl_server_options_set_root(opts, _text(root, "root"),
                                                 _text(appliance_name, "appliance_name")))
            check(lib.tl_server_options_set_listen(opts, _text(address, "address"), int(port)))
            check(lib.tl_server_options_set_threads(opts, int(threads)))
            check(lib.tl_server_new(opts, ctypes.byref(handle)))
        finally:
            lib.tl_server_options_free(opts)
        self._own(handle, lib.tl_server_free, "the server", "make a new trustlink.Server")
        if htl:
            try:
                check(lib.tl_server_enable_htl(handle, None))
            except BaseException:
                self.close()
                raise
        _live_servers.add(self)

    def start(self):
        check(self._lib.tl_server_start(self._h()))
        return self

    @property
    def port(self):
        out = ctypes.c_uint16()
        check(self._lib.tl_server_port(self._h(), ctypes.byref(out)))
        return out.value

    def stats(self):
        """The server's counters, {name: value} (docs/server.md, "Counters")."""
        return _stats.snapshot(self._lib, self._lib.tl_server_stats, self._h())

    def stop(self, grace_ms=0):
        """Stops accepting, lets calls finish for up to grace_ms, says goaway to every client."""
        check(self._lib.tl_server_stop(self._h(), int(grace_ms)))

    def close(self):
        """Stops the server (no grace period) and frees it."""
        super().close()
        _live_servers.discard(self)


@atexit.register
def _close_all():
    for server in list(_live_servers):
        server.close()
