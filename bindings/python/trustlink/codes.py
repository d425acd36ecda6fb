"""Status codes by name: trustlink.codes.TL_E_NOT_FOUND == 2.

The table is read from the loaded library (tl_status_name over the code range), so
base.h stays the one home of the numbers and a newer library's codes appear here too.
"""

import threading

from trustlink import _lib

# base.h reserves 1-99, 100-199, 200-299 and 300-399; later groups follow in hundreds.
_SCAN_LIMIT = 1000
_lock = threading.Lock()
_by_name = None


def table():
    """{name: code} of every status the loaded library knows, TL_OK included."""
    global _by_name
    with _lock:
        if _by_name is None:
            lib = _lib.lib()
            found = {}
            for code in range(_SCAN_LIMIT):
                name = lib.tl_status_name(code).decode()
                if name != "TL_E_UNKNOWN":
                    found[name] = code
            _by_name = found
        return dict(_by_name)


def __getattr__(name):
    codes = table()
    if name in codes:
        return codes[name]
    raise AttributeError("trustlink.codes has no %s; the loaded library knows %s" %
                         (name, ", ".join(sorted(codes))))
