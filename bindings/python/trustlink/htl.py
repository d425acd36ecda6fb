"""trustlink.HtlAppliance: the appliance's Host Trust Link state (trustlink/htl.h,
docs/htl.md): one-time tokens, `htl show`, the HTL settings and `htl clear`.
"""

import ctypes
import dataclasses

from trustlink import _lib
from trustlink._errors import check
from trustlink._handle import Owned
from trustlink.settings import _text

_OPEN_DAEMON = 1  # TL_HTL_OPEN_DAEMON


@dataclasses.dataclass(frozen=True)
class HtlRow:
    """One row of `htl show`: statuses by their names ("Up", "In use", ...)."""
    client: str
    htl_status: str
    ott_status: str
    ott_expiry_seconds: int
    ott_expiry_is_default: bool
    detail: str


@dataclasses.dataclass(frozen=True)
class HtlSettings:
    grace_period: int
    default_ott_expiry: int
    heartbeat_interval: int


class HtlAppliance(Owned):
    """The HTL state under an appliance root (made if missing, mode 0700).

    daemon=True opens it as the process serving HTL links (a new boot); tools pass False,
    as ntlsh does. Thread safety: many threads at once; close() must not race the others.
    """

    def __init__(self, root, *, daemon=False):
        self._lib = _lib.lib()
        handle = ctypes.c_void_p()
        check(self._lib.tl_htl_appliance_new(ctypes.byref(handle)))
        try:
            check(self._lib.tl_htl_appliance_open(handle, _text(root, "root"),
                                                  _OPEN_DAEMON if daemon else 0))
        except BaseException:
            self._lib.tl_htl_appliance_free(handle)
            raise
        self._own(handle, self._lib.tl_htl_appliance_free, "the HTL appliance",
                  "open a new trustlink.HtlAppliance")

    def generate_ott(self, client, out_dir, file_name, expiry_seconds=0):
        """Makes a new one-time token for the registered client (voiding the old one) and
        writes <out_dir>/<file_name>.ott (0600) for the admin to copy; returns its path.
        expiry_seconds 0 keeps the client's expiry (or the default)."""
        check(self._lib.tl_htl_generate_ott(self._h(), _text(client, "client"),
                                            int(expiry_seconds), _text(out_dir, "out_dir"),
                                            _text(file_name, "file_name")))
        return "%s/%s.ott" % (out_dir, file_name)

    def set_client_ott_expiry(self, client, expiry_seconds):
        """The client's own OTT expiry; a negative value returns it to the default."""
        check(self._lib.tl_htl_set_client_ott_expiry(self._h(), _text(client, "client"),
                                                     int(expiry_seconds)))

    def clear(self, client):
        """Drops the client's HTL state (`htl clear`): its links close, a new OTT is needed."""
        check(self._lib.tl_htl_clear(self._h(), _text(client, "client")))

    def settings(self):
        values = [ctypes.c_int64() for _ in range(3)]
        check(self._lib.tl_htl_get_settings(self._h(), *(ctypes.byref(v) for v in values)))
        return HtlSettings(*(v.value for v in values))

    def set_grace_period(self, seconds):
        check(self._lib.tl_htl_set_grace_period(self._h(), int(seconds)))

    def set_default_ott_expiry(self, seconds):
        check(self._lib.tl_htl_set_default_ott_expiry(self._h(), int(seconds)))

    def set_heartbeat_interval(self, seconds):
        check(self._lib.tl_htl_set_heartbeat_interval(self._h(), int(seconds)))

    def show(self, client=None):
        """The rows of `htl show`: one client's, or every client's with HTL state."""
        lib = self._lib
        out = ctypes.c_void_p()
        check(lib.tl_htl_show(self._h(), _text(client, "client"), ctypes.byref(out)))
        try:
            rows = []
            for i in range(lib.tl_htl_show_list_count(out)):
                htl = ctypes.c_int32()
                ott = ctypes.c_int32()
                expiry = ctypes.c_int64()
                is_default = ctypes.c_int32()
                check(lib.tl_htl_show_list_row(out, i, ctypes.byref(htl), ctypes.byref(ott),
                                               ctypes.byref(expiry), ctypes.byref(is_default)))
                rows.append(HtlRow(
                    client=(lib.tl_htl_show_list_client(out, i) or b"").decode(),
                    htl_status=lib.tl_htl_status_name(htl.value).decode(),
                    ott_status=lib.tl_ott_status_name(ott.value).decode(),
                    ott_expiry_seconds=expiry.value,
                    ott_expiry_is_default=bool(is_default.value),
                    detail=(lib.tl_htl_show_list_detail(out, i) or b"").decode()))
            return rows
        finally:
            lib.tl_htl_show_list_free(out)
