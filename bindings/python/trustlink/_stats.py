"""Counters (stats.h): a snapshot of named values read into a dict."""
import ctypes

from trustlink._errors import check


def snapshot(lib, take, handle):
    """Takes a snapshot with `take` (tl_client_stats or tl_server_stats) of `handle` and
    returns {name: value}, in the library's documented order."""
    stats = ctypes.c_void_p()
    check(take(handle, ctypes.byref(stats)))
    try:
        values = {}
        for i in range(lib.tl_stats_num_values(stats)):
            name = ctypes.c_char_p()
            value = ctypes.c_uint64()
            check(lib.tl_stats_value_at(stats, i, ctypes.byref(name), ctypes.byref(value)))
            values[name.value.decode()] = value.value
        return values
    finally:
        lib.tl_stats_free(stats)
