"""Owned: the base of every Python object that owns one C handle (all but Client, whose
close has to wait for calls on other threads and may not run on its own callbacks)."""

import threading

from trustlink._errors import error


class Owned:
    """Owns `handle`, freed once by `free` (the C tl_T_free) at close(), at the end of a
    with block, or when the object is collected. `name` says what it is in the message a
    call after close() raises ("the registry"), `remedy` how to get a new one."""

    def _own(self, handle, free, name, remedy):
        self._handle = handle
        self._free = free
        self._name = name
        self._remedy = remedy
        self._close_lock = threading.Lock()

    def _h(self):
        handle = self._handle
        if handle is None:
            raise error("TL_E_FAILED_PRECONDITION",
                        "%s is closed; %s" % (self._name, self._remedy))
        return handle

    def close(self):
        """Frees the handle; later calls raise trustlink.Error. Safe to call again."""
        with self._close_lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            self._free(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None) is not None:
            self.close()
