"""trustlink.Client: the client end of the trust link (tl_client), and what it returns.

The C rule that tl_client_close must not race any other call on the handle, nor run from
a callback, is kept here so that Python code need not know it: every call holds a use
count, close() refuses new calls and waits for the running ones, and a close() made from
one of the client's own callbacks finishes on another thread.
"""

import atexit
import concurrent.futures
import contextlib
import ctypes
import dataclasses
import enum
import threading
import weakref

from trustlink import _callbacks, _lib, _stats
from trustlink._errors import Error, check, copied_string, error, status_name
from trustlink.settings import Settings, _ms

# The built-in software partition's operations (docs/server.md). Other partitions
# define their own numbers; pass those as ints.
OPS = {"echo": 1, "random": 2, "sha256": 3, "hmac": 4, "hmac-sha256": 4}
DEFAULT_TIMEOUT_MS = 10000
_NOT_FOUND = 2  # TL_E_NOT_FOUND, which tl_client_next_link_event returns for "none queued"


class LinkState(enum.IntEnum):
    """A server's TL_LINK_* state."""
    NOT_TRUSTED = 0
    BACKOFF = 1
    CONNECTING = 2
    HANDSHAKING = 3
    AWAITING_WELCOME = 4
    READY = 5
    STOPPED = 6


class SlotState(enum.IntEnum):
    """A slot's TL_SLOT_* state."""
    READY = 0
    SERVER_DOWN = 1
    REMOVED = 2


class LinkEventKind(enum.IntEnum):
    """TL_LINK_EVENT_*."""
    UP = 1
    DOWN = 2
    SLOTS_CHANGED = 3


@dataclasses.dataclass(frozen=True)
class Slot:
    """One entry of the slot list; .id is what call() takes."""
    id: int
    server: str
    partition: str
    label: str
    serial: str
    state: SlotState


@dataclasses.dataclass(frozen=True)
class ServerState:
    """One configured server, in config order: its link state and last failure."""
    index: int
    name: str
    state: LinkState
    status: str
    code: int
    message: str


@dataclasses.dataclass(frozen=True)
class LinkEvent:
    """A server's link came up, went down (status says why) or its slots changed; .client
    is the Client it happened to (usable in the callback, even during the constructor)."""
    kind: LinkEventKind
    server_index: int
    status: str
    code: int
    client: object = dataclasses.field(default=None, repr=False, compare=False)


def _slot_id(slot):
    if isinstance(slot, Slot):
        return slot.id
    if isinstance(slot, bool) or not isinstance(slot, int):
        raise TypeError("slot must be a slot id (int) or a trustlink.Slot, not %s" %
                        type(slot).__name__)
    return slot


def _op_number(op):
    if isinstance(op, str):
        number = OPS.get(op.lower())
        if number is None:
            raise error("TL_E_INVALID_ARGUMENT",
                        "unknown op '%s'; give one of %s or an op number" %
                        (op, ", ".join(sorted(OPS))))
        return number
    if isinstance(op, bool) or not isinstance(op, int):
        raise TypeError("op must be an op name or number, not %s" % type(op).__name__)
    if not 0 <= op <= 0xFFFFFFFF:
        raise ValueError("op must be 0 to 4294967295, not %d" % op)
    return op


def _payload(data):
    if data is None:
        return b""
    if isinstance(data, str):
        raise TypeError("data must be bytes; encode text first (data.encode())")
    return bytes(data)


def _response_bytes(lib, response):
    length = lib.tl_response_len(response)
    return ctypes.string_at(lib.tl_response_data(response), length) if length else b""


# Clients C may call back, by userdata key; weak, so an unreferenced client is collected.
_link_targets = _callbacks.Table()
# Asynchronous calls in flight: key -> (client, future). The client is held strongly so
# that its callback, which C promises exactly once, finds it.
_pending_calls = _callbacks.Table()
_live_clients = weakref.WeakSet()


@_lib.LINK_EVENT_CB
def _on_link_event(userdata, kind, server_index, code):
    try:
        ref = _link_targets.get(userdata)
        client = ref() if ref is not None else None
        if client is not None:
            client._link_event(LinkEvent(LinkEventKind(kind), server_index,
                                         status_name(code), code, client))
    except BaseException:  # pylint: disable=broad-except
        _callbacks.report("link-event callback")


@_lib.CALL_CB
def _on_call_done(userdata, code, data, data_len):
    try:
        entry = _pending_calls.pop(userdata)
        if entry is None:
            return
        client, future = entry
        payload = ctypes.string_at(data, data_len) if data_len else b""
        with _callbacks.inside(client):
            if code == 0:
                future.set_result(payload)
            else:
                future.set_exception(Error(code, payload.decode("utf-8", "replace")))
    except BaseException:  # pylint: disable=broad-except
        _callbacks.report("call_async callback")


class Client:
    """An open trust link client (the NTLA).

    Client(root) opens the links of an enrolled client root (root None: the default root,
    as in C); Client(settings=s) opens from hand-built Settings. on_link_event, if given,
    is called with a LinkEvent on the library's I/O thread for every link change (events
    that happen while the client is opening are delivered once the constructor has the
    handle, in order). Without it, read them with next_link_event().

    Thread safety: every method may be called from any thread, close() included, also from
    the client's own callbacks. Use it as a context manager to close it.
    """

    def __init__(self, root=None, *, settings=None, on_link_event=None):
        self._lib = _lib.lib()
        self._cond = threading.Condition()
        self._handle = None
        self._active = 0
        self._closed = threading.Event()
        self._on_link_event = on_link_event
        self._events_lock = threading.Lock()    # guards _opened and _early_events
        self._delivery_lock = threading.Lock()  # keeps events in order across the open
        self._opened = False
        self._early_events = []
        # Until the handle exists the client counts as closed: nothing to close or collect.
        self._closing = True
        if settings is not None and root is not None:
            raise TypeError("give root or settings, not both")
        own_settings = settings is None
        if own_settings:
            settings = Settings.from_root(root)
        self._key = _link_targets.add(weakref.ref(self))
        try:
            self._open(settings)
        except BaseException:
            _link_targets.pop(self._key)
            self._closed.set()
            raise
        finally:
            if own_settings:
                settings.close()
        self._closing = False
        _live_clients.add(self)
        with self._delivery_lock:
            with self._events_lock:
                self._opened = True
                early, self._early_events = self._early_events, []
            for event in early:
                self._deliver(event)

    def _open(self, settings):
        lib = self._lib
        handle = ctypes.c_void_p()
        with settings._open_lock:
            h = settings._h()
            if self._on_link_event is not None:
                check(lib.tl_client_settings_set_link_event_callback(
                    h, _on_link_event, self._key))
            try:
                check(lib.tl_client_open(h, ctypes.byref(handle)))
            finally:
                if self._on_link_event is not None:
                    lib.tl_client_settings_set_link_event_callback(h, _lib.NO_LINK_EVENT_CB, None)
        self._handle = handle

    # ---- the use count that keeps tl_client_close from racing a call

    @contextlib.contextmanager
    def _use(self):
        with self._cond:
            if self._closing:
                raise error("TL_E_FAILED_PRECONDITION",
                            "the client is closed; open a new trustlink.Client")
            self._active += 1
            handle = self._handle
        try:
            yield handle
        finally:
            with self._cond:
                self._active -= 1
                if self._active == 0:
                    self._cond.notify_all()

    def close(self):
        """Stops the links; asynchronous calls in flight fail with TL_E_CANCELLED.

        Waits for calls running on other threads to return (each within its timeout).
        From one of this client's callbacks it returns at once: new calls fail from then on
        and the links stop on another thread as soon as the callback returns."""
        with self._cond:
            first = not self._closing
            self._closing = True
        if _callbacks.is_inside(self):
            if first:
                threading.Thread(target=self._finish_close, name="trustlink-close").start()
            return
        if first:
            self._finish_close()
        else:
            self._closed.wait()

    def _finish_close(self):
        with self._cond:
            while self._active:
                self._cond.wait()
            handle, self._handle = self._handle, None
        if handle is not None:
            # Releases the GIL, so the I/O thread can finish a callback it is in.
            self._lib.tl_client_close(handle)
        _link_targets.pop(self._key)
        _live_clients.discard(self)
        self._closed.set()

    @property
    def closed(self):
        """True once close() has begun."""
        with self._cond:
            return self._closing

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_closing", True):
            return
        # The last reference may go on the library's own thread (a callback's frame);
        # closing there would join that very thread, so close elsewhere.
        self._closing = True
        threading.Thread(target=self._finish_close, name="trustlink-close").start()

    # ---- link events

    def _link_event(self, event):
        with self._events_lock:
            if not self._opened:
                self._early_events.append(event)
                return
        with self._delivery_lock:
            self._deliver(event)

    def _deliver(self, event):
        try:
            with _callbacks.inside(self):
                self._on_link_event(event)
        except BaseException:  # pylint: disable=broad-except
            _callbacks.report("on_link_event")

    def next_link_event(self):
        """The oldest queued LinkEvent, or None; for clients opened without on_link_event."""
        kind = ctypes.c_int32()
        index = ctypes.c_size_t()
        code = ctypes.c_int32()
        with self._use() as h:
            rc = self._lib.tl_client_next_link_event(h, ctypes.byref(kind),
                                                     ctypes.byref(index), ctypes.byref(code))
            if rc == _NOT_FOUND:
                return None
            check(rc)
        return LinkEvent(LinkEventKind(kind.value), index.value, status_name(code.value),
                         code.value, self)

    # ---- servers and slots

    def wait_ready(self, timeout_ms=None):
        """Waits until the first attempt to every server has settled."""
        with self._use() as h:
            check(self._lib.tl_client_wait_ready(h, _ms(timeout_ms, "timeout_ms")))

    def servers(self):
        """Every configured server's ServerState, in config order."""
        lib = self._lib
        states = []
        with self._use() as h:
            count = ctypes.c_size_t()
            check(lib.tl_client_server_count(h, ctypes.byref(count)))
            for i in range(count.value):
                state = ctypes.c_int32()
                code = ctypes.c_int32()
                check(lib.tl_client_server_state(h, i, ctypes.byref(state),
                                                 ctypes.byref(code)))
                name = copied_string(lib.tl_client_server_name, h, i)
                message = copied_string(lib.tl_client_server_error, h, i)
                states.append(ServerState(i, name, LinkState(state.value),
                                          status_name(code.value), code.value, message))
        return states

    def slots(self):
        """The slot list: a Slot per partition assigned to this client, across servers."""
        lib = self._lib
        out = ctypes.c_void_p()
        with self._use() as h:
            check(lib.tl_client_slots(h, ctypes.byref(out)))
        try:
            slots = []
            for i in range(lib.tl_slot_list_count(out)):
                slot_id = ctypes.c_int32()
                state = ctypes.c_int32()
                check(lib.tl_slot_list_get(out, i, ctypes.byref(slot_id), ctypes.byref(state)))
                strings = [(f(out, i) or b"").decode() for f in (
                    lib.tl_slot_list_server, lib.tl_slot_list_partition,
                    lib.tl_slot_list_label, lib.tl_slot_list_serial)]
                slots.append(Slot(slot_id.value, *strings, SlotState(state.value)))
            return slots
        finally:
            lib.tl_slot_list_free(out)

    # ---- calls

    def call(self, slot, op, data=b"", timeout_ms=DEFAULT_TIMEOUT_MS):
        """Sends op (a name from OPS or a number) with data to the slot's partition and
        returns the response bytes. timeout_ms None waits without limit."""
        slot_id, number, payload = _slot_id(slot), _op_number(op), _payload(data)
        timeout = _ms(timeout_ms, "timeout_ms")
        response = ctypes.c_void_p()
        with self._use() as h:
            check(self._lib.tl_client_call(h, slot_id, number, payload, len(payload), timeout,
                                           ctypes.byref(response)))
        try:
            return _response_bytes(self._lib, response)
        finally:
            self._lib.tl_response_free(response)

    def call_async(self, slot, op, data=b"", timeout_ms=DEFAULT_TIMEOUT_MS, callback=None):
        """Sends the call and returns a concurrent.futures.Future of the response bytes (or
        of the Error). callback, if given, is added to the future: it runs with the future on
        the library's I/O thread (or on this thread, if the call is already done). Use
        asyncio.wrap_future to await it. The future cannot be cancelled; close() ends it
        with TL_E_CANCELLED."""
        slot_id, number, payload = _slot_id(slot), _op_number(op), _payload(data)
        timeout = _ms(timeout_ms, "timeout_ms")
        future = concurrent.futures.Future()
        future.set_running_or_notify_cancel()
        if callback is not None:
            future.add_done_callback(callback)
        with self._use() as h:
            # Registered before the call: the callback may run before tl_client_call_async
            # returns.
            key = _pending_calls.add((self, future))
            rc = self._lib.tl_client_call_async(h, slot_id, number, payload, len(payload),
                                                timeout, _on_call_done, key)
            if rc != 0:
                _pending_calls.pop(key)
                check(rc)
        return future

    # ---- driving I/O without library threads (Settings.set_no_threads)

    def fd(self):
        """A descriptor readable when process() has work; owned by the client."""
        out = ctypes.c_int()
        with self._use() as h:
            check(self._lib.tl_client_fd(h, ctypes.byref(out)))
        return out.value

    def process(self, timeout_ms=0):
        """Waits up to timeout_ms for work, does it and runs due callbacks on this thread."""
        with self._use() as h:
            with _callbacks.inside(self):
                check(self._lib.tl_client_process(h, _ms(timeout_ms, "timeout_ms")))

    def stats(self):
        """The client's counters over all its links, {name: value} (docs/client.md,
        "Counters"): handshakes, calls, bytes, calls in flight, latency quantiles in ns."""
        with self._use() as h:
            return _stats.snapshot(self._lib, self._lib.tl_client_stats, h)


@atexit.register
def _close_all():
    """Closes every open client before the interpreter tears down, while the library's
    threads can still take the GIL for a last callback."""
    for client in list(_live_clients):
        client.close()
