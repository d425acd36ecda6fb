"""trustlink.Settings: the client's builder (tl_client_settings).

Build it on one thread, then open any number of clients from it; each open copies what
it needs, as in C.
"""

import ctypes
import threading

from trustlink import _lib
from trustlink._errors import check
from trustlink._handle import Owned

NO_TIMEOUT = 0xFFFFFFFF


def _text(value, what):
    """str to UTF-8 bytes for a C string argument; None stays NULL."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    # os.PathLike roots and certificate paths.
    if hasattr(value, "__fspath__"):
        path = value.__fspath__()
        return path.encode() if isinstance(path, str) else path
    raise TypeError("%s must be str, bytes or a path, not %s" % (what, type(value).__name__))


def _ms(value, what):
    """A millisecond count for a uint32_t; None means no limit."""
    if value is None:
        return NO_TIMEOUT
    value = int(value)
    if not 0 <= value < NO_TIMEOUT:
        raise ValueError("%s must be 0 to %d ms or None (no limit), not %d" %
                         (what, NO_TIMEOUT - 1, value))
    return value


class Settings(Owned):
    """What Client opens from: servers, the client identity, keep-alive and timeouts.

    Settings.from_root(root) reads an enrolled client root (root None: the default root,
    $TRUSTLINK_CLIENT_ROOT, else /etc/trustlink/client). The setters mirror
    tl_client_settings_set_* and return the settings, so they chain.
    Thread safety: not while being changed; once built, many Clients may open from it.
    """

    def __init__(self):
        self._lib = _lib.lib()
        handle = ctypes.c_void_p()
        check(self._lib.tl_client_settings_new(ctypes.byref(handle)))
        self._own(handle, self._lib.tl_client_settings_free, "these Settings",
                  "make new ones with trustlink.Settings()")
        # Held by Client while it sets its link-event callback and opens.
        self._open_lock = threading.Lock()

    @classmethod
    def from_root(cls, root=None):
        """Settings loaded from a client root (tl_client_settings_load_root)."""
        settings = cls()
        try:
            settings.load_root(root)
        except BaseException:
            settings.close()
            raise
        return settings

    def load_root(self, root=None):
        check(self._lib.tl_client_settings_load_root(self._h(), _text(root, "root")))
        return self

    def add_server(self, name, port, *, host=None, require_htl=False, pinned_cert_pem=None):
        """Appends a server (config order is slot order). pinned_cert_pem None: the server is
        not trusted and never contacted, as when it is missing from CAFile.pem."""
        check(self._lib.tl_client_settings_add_server(
            self._h(), _text(name, "name"), _text(host, "host"), int(port),
            1 if require_htl else 0, _text(pinned_cert_pem, "pinned_cert_pem")))
        return self

    def set_identity_pem(self, cert_pem, key_pem):
        check(self._lib.tl_client_settings_set_identity_pem(
            self._h(), _text(cert_pem, "cert_pem"), _text(key_pem, "key_pem")))
        return self

    def set_keepalive(self, enabled, idle_seconds=0, interval_seconds=0, count=0):
        check(self._lib.tl_client_settings_set_keepalive(
            self._h(), 1 if enabled else 0, int(idle_seconds), int(interval_seconds),
            int(count)))
        return self

    def set_timeouts(self, connect_ms, heartbeat_interval_ms, heartbeat_timeout_ms):
        check(self._lib.tl_client_settings_set_timeouts(
            self._h(), _ms(connect_ms, "connect_ms"),
            _ms(heartbeat_interval_ms, "heartbeat_interval_ms"),
            _ms(heartbeat_timeout_ms, "heartbeat_timeout_ms")))
        return self

    def set_reconnect(self, enabled, min_ms=100, max_ms=30000):
        check(self._lib.tl_client_settings_set_reconnect(
            self._h(), 1 if enabled else 0, _ms(min_ms, "min_ms"), _ms(max_ms, "max_ms")))
        return self

    def set_no_threads(self, no_threads=True):
        """No library thread: drive the client with Client.fd() and Client.process()."""
        check(self._lib.tl_client_settings_set_no_threads(self._h(), 1 if no_threads else 0))
        return self

    def set_initial_wait(self, wait_ms):
        check(self._lib.tl_client_settings_set_initial_wait(
            self._h(), _ms(wait_ms, "wait_ms")))
        return self

    def set_dials_per_address(self, max_dials):
        """At most max_dials (1 to 1024; default 32) connection attempts in flight to one
        server address; the client's other links to it wait their turn (docs/client.md,
        "Opening many links")."""
        max_dials = int(max_dials)
        if not 1 <= max_dials <= 1024:
            raise ValueError("max_dials must be 1 to 1024, not %d" % max_dials)
        check(self._lib.tl_client_settings_set_dials_per_address(self._h(), max_dials))
        return self

    def set_busy_poll(self, budget_us):
        """Before a blocking call alone on its link sleeps for its answer, poll without
        blocking for at most budget_us microseconds (0, the default: off; the library
        refuses more than 1000, naming the limit). Lower one-call-at-a-time latency for
        CPU (docs/client.md, "Busy-poll")."""
        budget_us = int(budget_us)
        if budget_us < 0:
            raise ValueError("budget_us must be 0 (off) or more, not %d" % budget_us)
        check(self._lib.tl_client_settings_set_busy_poll(
            self._h(), min(budget_us, 0xFFFFFFFF)))
        return self

    def set_htl_proof_socket(self, path):
        check(self._lib.tl_client_settings_set_htl_proof_socket(
            self._h(), _text(path, "path")))
        return self

    def set_htl_proof_timeout(self, timeout_ms):
        check(self._lib.tl_client_settings_set_htl_proof_timeout(
            self._h(), _ms(timeout_ms, "timeout_ms")))
        return self

    # close() (from Owned) frees the settings; clients opened from them keep working.
