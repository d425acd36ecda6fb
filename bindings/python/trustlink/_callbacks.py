"""What every C-to-Python trampoline shares.

- No Python exception may cross into C: a trampoline runs its body under `guarded`,
  which hands anything raised to sys.unraisablehook (printed to stderr by default, as
  Python does for exceptions in __del__) and returns normally.
- A callback may call close() on the object whose callback it is. The library forbids
  that (tl_client_close joins the thread the callback runs on), so each trampoline marks
  the thread as "inside a callback of X" and X.close() then hands the real close to
  another thread instead of deadlocking.
- Each C callback type has one CFUNCTYPE object for the life of the process, and userdata
  is a small integer key into a table, so no function pointer C holds can be collected.
"""

import contextlib
import itertools
import sys
import threading

_tls = threading.local()


@contextlib.contextmanager
def inside(owner):
    """Marks this thread as running a callback of `owner` for the block."""
    owners = getattr(_tls, "owners", None)
    if owners is None:
        owners = _tls.owners = []
    owners.append(id(owner))
    try:
        yield
    finally:
        owners.pop()


def is_inside(owner):
    """True when this thread is running a callback of `owner`."""
    return id(owner) in getattr(_tls, "owners", ())


def report(what):
    """Reports the exception being handled without raising it (sys.unraisablehook)."""
    exc_type, exc, tb = sys.exc_info()
    hook = sys.unraisablehook
    try:
        hook(_Unraisable(exc_type, exc, tb, "Exception ignored in trustlink " + what))
    except BaseException:  # pylint: disable=broad-except
        # A broken hook must not take the library's thread down either.
        pass


class _Unraisable:
    """The argument sys.unraisablehook takes."""

    def __init__(self, exc_type, exc_value, exc_traceback, err_msg):
        self.exc_type = exc_type
        self.exc_value = exc_value
        self.exc_traceback = exc_traceback
        self.err_msg = err_msg
        self.object = None


class Table:
    """Keys (never 0, which would be NULL) to Python objects that C refers to by userdata."""

    def __init__(self):
        self._lock = threading.Lock()
        self._next = itertools.count(1)
        self._items = {}

    def add(self, item):
        with self._lock:
            key = next(self._next)
            self._items[key] = item
            return key

    def get(self, key):
        with self._lock:
            return self._items.get(key)

    def pop(self, key):
        with self._lock:
            return self._items.pop(key, None)
