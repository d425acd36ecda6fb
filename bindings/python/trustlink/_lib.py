"""Finding and loading libtrustlink.so.1, and the C prototypes the binding uses.

Every C function is declared here once with its exact argument and result types, so a
wrong call fails in ctypes with a TypeError instead of corrupting memory. The library is
loaded on first use, not at import, so `import trustlink` works (and `trustlink.Error`
can be caught) on a machine where the library is missing.
"""

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import threading

SONAME = "libtrustlink.so.1"
# The thread-local last error (tl_last_error) and the hooks arrived in 1.1.
_MIN_VERSION = 1001000
_MAJOR = 1

_P = ctypes.c_void_p
_PP = ctypes.POINTER(ctypes.c_void_p)
_S = ctypes.c_char_p
_PS = ctypes.POINTER(ctypes.c_char_p)
_I32 = ctypes.c_int32
_PI32 = ctypes.POINTER(ctypes.c_int32)
_U16 = ctypes.c_uint16
_PU16 = ctypes.POINTER(ctypes.c_uint16)
_U32 = ctypes.c_uint32
_PU32 = ctypes.POINTER(ctypes.c_uint32)
_I64 = ctypes.c_int64
_PI64 = ctypes.POINTER(ctypes.c_int64)
_U64 = ctypes.c_uint64
_PU64 = ctypes.POINTER(ctypes.c_uint64)
_SZ = ctypes.c_size_t
_PSZ = ctypes.POINTER(ctypes.c_size_t)
_PINT = ctypes.POINTER(ctypes.c_int)
_ST = ctypes.c_int32  # tl_status

# Callback types (client.h, log.h). Byte pointers are void * so the trampolines can copy
# exactly data_len bytes with ctypes.string_at (c_char_p would stop at a NUL).
CALL_CB = ctypes.CFUNCTYPE(None, _P, _ST, _P, _SZ)
LINK_EVENT_CB = ctypes.CFUNCTYPE(None, _P, _I32, _SZ, _ST)
LOG_CB = ctypes.CFUNCTYPE(None, _P, _P)
# NULL function pointers (ctypes will not take None for a CFUNCTYPE argument).
NO_LINK_EVENT_CB = LINK_EVENT_CB()
NO_LOG_CB = LOG_CB()

# name: (restype, argtypes). Only functions the binding calls; all exist since 1.1.
_PROTOTYPES = {
    # base.h
    "tl_version_number": (_U32, []),
    "tl_version_string": (_S, []),
    "tl_status_name": (_S, [_ST]),
    "tl_error_message_max": (_SZ, []),
    "tl_last_error": (_ST, [_P, _SZ, _PSZ]),
    "tl_last_error_status": (_ST, []),
    # client.h: settings
    "tl_client_settings_new": (_ST, [_PP]),
    "tl_client_settings_free": (None, [_P]),
    "tl_client_settings_load_root": (_ST, [_P, _S]),
    "tl_client_settings_add_server": (_ST, [_P, _S, _S, _U16, _I32, _S]),
    "tl_client_settings_set_identity_pem": (_ST, [_P, _S, _S]),
    "tl_client_settings_set_keepalive": (_ST, [_P, _I32, _I32, _I32, _I32]),
    "tl_client_settings_set_timeouts": (_ST, [_P, _U32, _U32, _U32]),
    "tl_client_settings_set_reconnect": (_ST, [_P, _I32, _U32, _U32]),
    "tl_client_settings_set_no_threads": (_ST, [_P, _I32]),
    "tl_client_settings_set_initial_wait": (_ST, [_P, _U32]),
    "tl_client_settings_set_dials_per_address": (_ST, [_P, _U32]),
    "tl_client_settings_set_busy_poll": (_ST, [_P, _U32]),
    "tl_client_settings_set_htl_proof_socket": (_ST, [_P, _S]),
    "tl_client_settings_set_htl_proof_timeout": (_ST, [_P, _U32]),
    "tl_client_settings_set_link_event_callback": (_ST, [_P, LINK_EVENT_CB, _P]),
    # stats.h
    "tl_server_stats": (_ST, [_P, _PP]),
    "tl_client_stats": (_ST, [_P, _PP]),
    "tl_stats_free": (None, [_P]),
    "tl_stats_num_values": (_SZ, [_P]),
    "tl_stats_value_at": (_ST, [_P, _SZ, _PS, _PU64]),
    # client.h: the client
    "tl_client_open": (_ST, [_P, _PP]),
    "tl_client_close": (None, [_P]),
    "tl_client_wait_ready": (_ST, [_P, _U32]),
    "tl_client_server_count": (_ST, [_P, _PSZ]),
    "tl_client_server_state": (_ST, [_P, _SZ, _PI32, _PI32]),
    "tl_client_server_name": (_ST, [_P, _SZ, _P, _SZ, _PSZ]),
    "tl_client_server_error": (_ST, [_P, _SZ, _P, _SZ, _PSZ]),
    "tl_client_next_link_event": (_ST, [_P, _PI32, _PSZ, _PI32]),
    "tl_client_slots": (_ST, [_P, _PP]),
    "tl_slot_list_free": (None, [_P]),
    "tl_slot_list_count": (_SZ, [_P]),
    "tl_slot_list_get": (_ST, [_P, _SZ, _PI32, _PI32]),
    "tl_slot_list_server": (_S, [_P, _SZ]),
    "tl_slot_list_partition": (_S, [_P, _SZ]),
    "tl_slot_list_label": (_S, [_P, _SZ]),
    "tl_slot_list_serial": (_S, [_P, _SZ]),
    "tl_client_call": (_ST, [_P, _I32, _U32, _S, _SZ, _U32, _PP]),
    "tl_response_free": (None, [_P]),
    "tl_response_data": (_P, [_P]),
    "tl_response_len": (_SZ, [_P]),
    "tl_client_call_async": (_ST, [_P, _I32, _U32, _S, _SZ, _U32, CALL_CB, _P]),
    "tl_client_fd": (_ST, [_P, _PINT]),
    "tl_client_process": (_ST, [_P, _U32]),
    # log.h
    "tl_set_log_callback": (_ST, [LOG_CB, _P, _I32]),
    "tl_log_event_level": (_I32, [_P]),
    "tl_log_event_source": (_ST, [_P, _PS]),
    "tl_log_event_kind": (_ST, [_P, _PS]),
    "tl_log_event_line": (_ST, [_P, _PS]),
    "tl_log_event_client": (_ST, [_P, _PS]),
    "tl_log_event_num_addresses": (_SZ, [_P]),
    "tl_log_event_address": (_ST, [_P, _SZ, _PS]),
    "tl_log_event_num_fields": (_SZ, [_P]),
    "tl_log_event_field_at": (_ST, [_P, _SZ, _PS, _PS]),
    # registry.h
    "tl_appliance_default_root": (_ST, [_P, _SZ, _PSZ]),
    "tl_registry_load": (_ST, [_S, _I32, _PP]),
    "tl_registry_free": (None, [_P]),
    "tl_registry_root": (_S, [_P]),
    "tl_registry_generation": (_ST, [_P, _PU64]),
    "tl_registry_refresh": (_ST, [_P]),
    "tl_client_registration_new": (_ST, [_PP]),
    "tl_client_registration_free": (None, [_P]),
    "tl_client_registration_set_label": (_ST, [_P, _S]),
    "tl_client_registration_set_hostname": (_ST, [_P, _S]),
    "tl_client_registration_set_ip": (_ST, [_P, _S]),
    "tl_client_registration_set_certificate_pem": (_ST, [_P, _S]),
    "tl_client_registration_set_require_htl": (_ST, [_P, _I32]),
    "tl_client_registration_set_ott_expiry": (_ST, [_P, _I64]),
    "tl_client_registration_set_force": (_ST, [_P, _I32]),
    "tl_registry_register_client": (_ST, [_P, _P, _PP]),
    "tl_registry_delete_client": (_ST, [_P, _S]),
    "tl_registry_replace_certificate": (_ST, [_P, _S, _S, _I32, _PP]),
    "tl_registry_set_require_htl": (_ST, [_P, _S, _I32, _I64, _PP]),
    "tl_registry_map_host_ip": (_ST, [_P, _S, _S, _PP]),
    "tl_registry_unmap_host_ip": (_ST, [_P, _S, _S, _PP]),
    "tl_registry_assign_partition": (_ST, [_P, _S, _S, _PP]),
    "tl_registry_revoke_partition": (_ST, [_P, _S, _S, _PP]),
    "tl_registry_get_client": (_ST, [_P, _S, _PP]),
    "tl_registry_find_client_by_fingerprint": (_ST, [_P, _S, _PP]),
    "tl_registry_list_clients": (_ST, [_P, _PP]),
    "tl_client_list_free": (None, [_P]),
    "tl_client_list_count": (_SZ, [_P]),
    "tl_client_list_get": (_P, [_P, _SZ]),
    "tl_client_info_free": (None, [_P]),
    "tl_client_info_label": (_S, [_P]),
    "tl_client_info_name": (_S, [_P]),
    "tl_client_info_name_kind": (_I32, [_P]),
    "tl_client_info_fingerprint": (_S, [_P]),
    "tl_client_info_certificate_pem": (_S, [_P]),
    "tl_client_info_require_htl": (_I32, [_P]),
    "tl_client_info_ott_expiry": (_I64, [_P]),
    "tl_client_info_effective_ott_expiry": (_I64, [_P]),
    "tl_client_info_registered_unix": (_I64, [_P]),
    "tl_client_info_changed_unix": (_I64, [_P]),
    "tl_client_info_num_host_ips": (_SZ, [_P]),
    "tl_client_info_host_ip": (_S, [_P, _SZ]),
    "tl_client_info_num_partitions": (_SZ, [_P]),
    "tl_client_info_partition": (_S, [_P, _SZ]),
    "tl_client_info_num_warnings": (_SZ, [_P]),
    "tl_client_info_warning": (_S, [_P, _SZ]),
    "tl_client_info_changed": (_I32, [_P]),
    "tl_registry_create_partition": (_ST, [_P, _S, _S, _S, _PP]),
    "tl_registry_delete_partition": (_ST, [_P, _S, _I32, _PP]),
    "tl_registry_get_partition": (_ST, [_P, _S, _PP]),
    "tl_registry_list_partitions": (_ST, [_P, _PP]),
    "tl_partition_list_free": (None, [_P]),
    "tl_partition_list_count": (_SZ, [_P]),
    "tl_partition_list_get": (_P, [_P, _SZ]),
    "tl_partition_info_free": (None, [_P]),
    "tl_partition_info_name": (_S, [_P]),
    "tl_partition_info_label": (_S, [_P]),
    "tl_partition_info_serial": (_S, [_P]),
    "tl_partition_info_created_unix": (_I64, [_P]),
    "tl_partition_info_num_clients": (_SZ, [_P]),
    "tl_partition_info_client": (_S, [_P, _SZ]),
    "tl_appliance_settings_new": (_ST, [_PP]),
    "tl_appliance_settings_free": (None, [_P]),
    "tl_registry_get_settings": (_ST, [_P, _PP]),
    "tl_registry_update_settings": (_ST, [_P, _P, _PP]),
    "tl_appliance_settings_set_bind_address": (_ST, [_P, _S]),
    "tl_appliance_settings_set_port": (_ST, [_P, _I32]),
    "tl_appliance_settings_set_ipcheck": (_ST, [_P, _I32]),
    "tl_appliance_settings_set_tcp_keepalive": (_ST, [_P, _I32]),
    "tl_appliance_settings_set_keepalive_idle": (_ST, [_P, _I32]),
    "tl_appliance_settings_set_keepalive_interval": (_ST, [_P, _I32]),
    "tl_appliance_settings_set_keepalive_probes": (_ST, [_P, _I32]),
    "tl_appliance_settings_set_receive_timeout_ms": (_ST, [_P, _I32]),
    "tl_appliance_settings_set_max_links_per_client": (_ST, [_P, _I32]),
    "tl_appliance_settings_set_htl_grace_period": (_ST, [_P, _I32]),
    "tl_appliance_settings_set_htl_default_ott_expiry": (_ST, [_P, _I32]),
    "tl_appliance_settings_bind_address": (_S, [_P]),
    "tl_appliance_settings_port": (_I32, [_P]),
    "tl_appliance_settings_ipcheck": (_I32, [_P]),
    "tl_appliance_settings_tcp_keepalive": (_I32, [_P]),
    "tl_appliance_settings_keepalive_idle": (_I32, [_P]),
    "tl_appliance_settings_keepalive_interval": (_I32, [_P]),
    "tl_appliance_settings_keepalive_probes": (_I32, [_P]),
    "tl_appliance_settings_receive_timeout_ms": (_I32, [_P]),
    "tl_appliance_settings_max_links_per_client": (_I32, [_P]),
    "tl_appliance_settings_htl_grace_period": (_I32, [_P]),
    "tl_appliance_settings_htl_default_ott_expiry": (_I32, [_P]),
    "tl_registry_load_server_identity": (_ST, [_P, _PP]),
    "tl_registry_ensure_server_identity": (_ST, [_P, _S, _S, _PP]),
    "tl_server_identity_free": (None, [_P]),
    "tl_server_identity_num_certificates": (_SZ, [_P]),
    "tl_server_identity_certificate_pem": (_S, [_P, _SZ]),
    "tl_server_identity_fingerprint": (_S, [_P, _SZ]),
    "tl_server_identity_subject": (_S, [_P, _SZ]),
    "tl_server_identity_key_type": (_S, [_P, _SZ]),
    "tl_server_identity_not_after_unix": (_I64, [_P, _SZ]),
    # htl.h: the appliance
    "tl_htl_status_name": (_S, [_I32]),
    "tl_ott_status_name": (_S, [_I32]),
    "tl_htl_appliance_new": (_ST, [_PP]),
    "tl_htl_appliance_open": (_ST, [_P, _S, _I32]),
    "tl_htl_appliance_free": (None, [_P]),
    "tl_htl_generate_ott": (_ST, [_P, _S, _I64, _S, _S]),
    "tl_htl_set_client_ott_expiry": (_ST, [_P, _S, _I64]),
    "tl_htl_clear": (_ST, [_P, _S]),
    "tl_htl_set_grace_period": (_ST, [_P, _I64]),
    "tl_htl_set_default_ott_expiry": (_ST, [_P, _I64]),
    "tl_htl_set_heartbeat_interval": (_ST, [_P, _I64]),
    "tl_htl_get_settings": (_ST, [_P, _PI64, _PI64, _PI64]),
    "tl_htl_show": (_ST, [_P, _S, _PP]),
    "tl_htl_show_list_free": (None, [_P]),
    "tl_htl_show_list_count": (_SZ, [_P]),
    "tl_htl_show_list_client": (_S, [_P, _SZ]),
    "tl_htl_show_list_row": (_ST, [_P, _SZ, _PI32, _PI32, _PI64, _PI32]),
    "tl_htl_show_list_detail": (_S, [_P, _SZ]),
    # server.h: an appliance inside this process
    "tl_server_options_new": (_ST, [_PP]),
    "tl_server_options_free": (None, [_P]),
    "tl_server_options_set_listen": (_ST, [_P, _S, _U16]),
    "tl_server_options_set_root": (_ST, [_P, _S, _S]),
    "tl_server_options_set_threads": (_ST, [_P, _I32]),
    "tl_server_new": (_ST, [_P, _PP]),
    "tl_server_free": (None, [_P]),
    "tl_server_enable_htl": (_ST, [_P, _S]),
    "tl_server_start": (_ST, [_P]),
    "tl_server_port": (_ST, [_P, _PU16]),
    "tl_server_stop": (_ST, [_P, _U32]),
}


class LibraryError(OSError):
    """libtrustlink.so.1 could not be found or loaded, or is too old for this binding."""


_lock = threading.Lock()
_lib = None


def _pkg_config_libdir():
    """The libdir of trustlink.pc (PKG_CONFIG_PATH applies), or None."""
    if shutil.which("pkg-config") is None:
        return None
    try:
        out = subprocess.run(["pkg-config", "--variable=libdir", "trustlink"],
                             capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    libdir = out.stdout.strip()
    return libdir if out.returncode == 0 and libdir else None


def _candidates():
    """(how it was found, path or name) pairs, in the order they are tried."""
    explicit = os.environ.get("TRUSTLINK_LIBRARY")
    if explicit:
        # An explicit choice is never silently replaced by another copy of the library.
        return [("TRUSTLINK_LIBRARY", explicit)]
    found = [("the dynamic loader (LD_LIBRARY_PATH, ldconfig)", SONAME)]
    libdir = _pkg_config_libdir()
    if libdir:
        found.append(("pkg-config's libdir", os.path.join(libdir, SONAME)))
    name = ctypes.util.find_library("trustlink")
    if name and name.endswith(".so.%d" % _MAJOR) and name != SONAME:
        found.append(("ctypes.util.find_library", name))
    return found


def _declare(lib):
    for name, (restype, argtypes) in _PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise LibraryError(
                "%s has no %s: it is older than this binding needs (1.1); install a newer "
                "libtrustlink.so.1 or point TRUSTLINK_LIBRARY at one" % (lib._name, name))
        fn.restype = restype
        fn.argtypes = argtypes


def _load():
    tried = []
    for how, path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s: %s (%s)" % (how, path, e))
            continue
        try:
            version = lib.tl_version_number
        except AttributeError:
            tried.append("%s: %s has no tl_version_number; it is not libtrustlink" % (how, path))
            continue
        version.restype = ctypes.c_uint32
        v = version()
        if v // 1000000 != _MAJOR or v < _MIN_VERSION:
            raise LibraryError(
                "%s (found through %s) is version %d.%d.%d; this binding needs 1.1 or later "
                "with major version 1" % (path, how, v // 1000000, v // 1000 % 1000, v % 1000))
        _declare(lib)
        return lib
    raise LibraryError(
        "cannot load %s; tried:\n  %s\nInstall trustlink (tools/install --prefix DIR), then set "
        "LD_LIBRARY_PATH=DIR/lib, PKG_CONFIG_PATH=DIR/lib/pkgconfig or "
        "TRUSTLINK_LIBRARY=DIR/lib/%s" % (SONAME, "\n  ".join(tried), SONAME))


def lib():
    """The loaded library, with every prototype declared. Raises LibraryError."""
    global _lib
    if _lib is None:
        with _lock:
            if _lib is None:
                _lib = _load()
    return _lib


def path():
    """The real path of the loaded library file (symlinks resolved), as the process maps it."""
    name = lib()._name
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split(None, 5)
                if len(fields) == 6 and os.path.basename(fields[5].strip()).startswith(
                        "libtrustlink.so"):
                    return fields[5].strip()
    except OSError:
        pass
    return os.path.realpath(name) if os.path.sep in name else name
