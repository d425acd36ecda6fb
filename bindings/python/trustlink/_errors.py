"""trustlink.Error and the one place C statuses become exceptions.

A failing C call's message is the calling thread's (tl_last_error, docs/adr/0005). CPython
runs each Python thread on its own OS thread and ctypes makes the C call on it, so reading
tl_last_error right after the failing call, before any other C call, gets that call's
message whatever other threads do.
"""

import ctypes

from trustlink import _lib

OK = 0


class Error(Exception):
    """A trustlink failure.

    .status is the code's symbolic name ("TL_E_NOT_FOUND"), .code its number, and .message
    the library's message: what went wrong, with which object, and what to do.
    """

    def __init__(self, code, message, status=None):
        self.code = int(code)
        self.status = status if status is not None else status_name(self.code)
        self.message = message
        super().__init__("%s: %s" % (self.status, message) if message else self.status)


def status_name(code):
    """The symbolic name of a TL_E_* code ("TL_E_UNKNOWN" for one the library does not know)."""
    return _lib.lib().tl_status_name(int(code)).decode()


def last_error_message():
    """The message of the most recent failed call on this thread ("" if none)."""
    lib = _lib.lib()
    size = lib.tl_error_message_max()
    buf = ctypes.create_string_buffer(size)
    n = ctypes.c_size_t(0)
    if lib.tl_last_error(buf, size, ctypes.byref(n)) != OK:
        return ""
    return buf.raw[:n.value].decode("utf-8", "replace")


def check(code):
    """Raises Error for a failed status, with this thread's message of that failure."""
    if code != OK:
        raise Error(code, last_error_message())


def error(code_name, message):
    """An Error for a failure the binding finds itself (a closed client, an unknown op)."""
    return Error(getattr(_codes(), code_name), message, code_name)


def _codes():
    from trustlink import codes
    return codes


def copied_string(fn, *args):
    """Calls a copied-string getter f(..., buf, buf_len, &out_len) (docs/c-api.md) and returns
    its text, growing the buffer once if TL_E_BUFFER_TOO_SMALL says it must."""
    size = 256
    for _ in range(2):
        buf = ctypes.create_string_buffer(size)
        n = ctypes.c_size_t(0)
        code = fn(*args, buf, size, ctypes.byref(n))
        if code == OK:
            return buf.raw[:n.value].decode("utf-8", "replace")
        if code != _codes().TL_E_BUFFER_TOO_SMALL:
            check(code)
        size = n.value
    check(code)
