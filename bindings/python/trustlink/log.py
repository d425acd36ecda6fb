"""The library's log lines (tl_set_log_callback) as Python logging records or LogEvents.

Only servers running inside this process (trustlink.Server) log: listening, refusals,
handshake failures, HTL clone alerts. Without a handler the lines go to stderr.
"""

import atexit
import dataclasses
import enum
import logging
import threading
import ctypes

from trustlink import _callbacks, _lib
from trustlink._errors import check


class LogLevel(enum.IntEnum):
    """TL_LOG_*."""
    DEBUG = 0
    INFO = 1
    WARNING = 2
    ERROR = 3
    ALERT = 4


_TO_LOGGING = {
    LogLevel.DEBUG: logging.DEBUG,
    LogLevel.INFO: logging.INFO,
    LogLevel.WARNING: logging.WARNING,
    LogLevel.ERROR: logging.ERROR,
    LogLevel.ALERT: logging.CRITICAL,
}


@dataclasses.dataclass(frozen=True)
class LogEvent:
    """One log line: its level, what logged it ("ntls"), what happened ("refused",
    "htl-alert", ...), the client's label (None when it names none), the addresses it is
    about, its key=value fields in line order, and the whole line."""
    level: LogLevel
    source: str
    kind: str
    client: object
    addresses: tuple
    fields: dict
    line: str


def _borrowed(getter, event, *args):
    out = ctypes.c_char_p()
    if getter(event, *args, ctypes.byref(out)) != 0 or out.value is None:
        return None
    return out.value.decode("utf-8", "replace")


def _read_event(lib, event):
    addresses = []
    for i in range(lib.tl_log_event_num_addresses(event)):
        address = _borrowed(lib.tl_log_event_address, event, i)
        if address is not None:
            addresses.append(address)
    fields = {}
    for i in range(lib.tl_log_event_num_fields(event)):
        key = ctypes.c_char_p()
        value = ctypes.c_char_p()
        if lib.tl_log_event_field_at(event, i, ctypes.byref(key), ctypes.byref(value)) == 0:
            fields[key.value.decode("utf-8", "replace")] = value.value.decode("utf-8", "replace")
    level = lib.tl_log_event_level(event)
    return LogEvent(
        level=LogLevel(level) if level in LogLevel._value2member_map_ else LogLevel.INFO,
        source=_borrowed(lib.tl_log_event_source, event) or "",
        kind=_borrowed(lib.tl_log_event_kind, event) or "",
        client=_borrowed(lib.tl_log_event_client, event),
        addresses=tuple(addresses),
        fields=fields,
        line=_borrowed(lib.tl_log_event_line, event) or "")


# Handlers by userdata key. The library promises that once tl_set_log_callback returns,
# the previous userdata is no longer in use, so the old key can go then.
_handlers = _callbacks.Table()
_lock = threading.Lock()
_current_key = None


@_lib.LOG_CB
def _on_log(userdata, event):
    try:
        handler = _handlers.get(userdata)
        if handler is not None:
            handler(_read_event(_lib.lib(), event))
    except BaseException:  # pylint: disable=broad-except
        _callbacks.report("log handler")


def set_log_handler(handler, min_level=LogLevel.INFO):
    """Sends every library log line at min_level or above to handler(LogEvent), on the
    library's threads; handler None sends them to stderr again. When it returns, the
    previous handler is not running and will not be called again."""
    global _current_key
    lib = _lib.lib()
    level = LogLevel(min_level)
    with _lock:
        key = _handlers.add(handler) if handler is not None else None
        try:
            if handler is None:
                check(lib.tl_set_log_callback(_lib.NO_LOG_CB, None, level))
            else:
                check(lib.tl_set_log_callback(_on_log, key, level))
        except BaseException:
            if key is not None:
                _handlers.pop(key)
            raise
        if _current_key is not None:
            _handlers.pop(_current_key)
        _current_key = key


def log_to_python(logger="trustlink", min_level=logging.INFO):
    """Bridges the library's log to Python logging: each line becomes a record on the logger
    `<logger>.<source>` ("trustlink.ntls"), at the matching level (an HTL alert is
    CRITICAL), with the LogEvent as the record's `trustlink` attribute."""
    base = logger if isinstance(logger, str) else logger.name
    if min_level <= logging.DEBUG:
        tl_level = LogLevel.DEBUG
    elif min_level <= logging.INFO:
        tl_level = LogLevel.INFO
    elif min_level <= logging.WARNING:
        tl_level = LogLevel.WARNING
    elif min_level <= logging.ERROR:
        tl_level = LogLevel.ERROR
    else:
        tl_level = LogLevel.ALERT

    def emit(event):
        name = "%s.%s" % (base, event.source) if event.source else base
        logging.getLogger(name).log(_TO_LOGGING[event.level], "%s", event.line,
                                    extra={"trustlink": event})

    set_log_handler(emit, tl_level)


@atexit.register
def _restore_stderr():
    """No log line may reach Python while the interpreter tears down."""
    if _current_key is not None:
        set_log_handler(None)
