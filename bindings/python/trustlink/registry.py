"""trustlink.Registry: the appliance's registry of clients, partitions and settings
(trustlink/registry.h; docs/appliance.md).

Every change is atomic, durable and seen at once by a running ntlsd, as with ntlsh.
Records come back as frozen dataclasses copied out of the C handles.
"""

import ctypes
import dataclasses

from trustlink import _lib
from trustlink._errors import check, copied_string, error
from trustlink._handle import Owned
from trustlink.settings import _text

OPEN_EXISTING = 0
OPEN_CREATE = 1
NAME_KINDS = {0: "hostname", 1: "ipv4", 2: "ipv6"}


@dataclasses.dataclass(frozen=True)
class ClientInfo:
    """A registered client, and the warnings and change flag of the call that returned it."""
    label: str
    name: str
    name_kind: str
    fingerprint: str
    certificate_pem: str
    require_htl: bool
    ott_expiry: int
    effective_ott_expiry: int
    registered_unix: int
    changed_unix: int
    host_ips: tuple
    partitions: tuple
    warnings: tuple
    changed: bool


@dataclasses.dataclass(frozen=True)
class PartitionInfo:
    name: str
    label: str
    serial: str
    created_unix: int
    clients: tuple


@dataclasses.dataclass(frozen=True)
class ApplianceSettings:
    """NTLS and HTL settings; as a patch for update_settings, None leaves a field alone."""
    bind_address: object = None
    port: object = None
    ipcheck: object = None
    tcp_keepalive: object = None
    keepalive_idle: object = None
    keepalive_interval: object = None
    keepalive_probes: object = None
    receive_timeout_ms: object = None
    max_links_per_client: object = None
    htl_grace_period: object = None
    htl_default_ott_expiry: object = None


@dataclasses.dataclass(frozen=True)
class ServerCertificate:
    """One certificate of the appliance's identity; index 0 of the list is the current."""
    certificate_pem: str
    fingerprint: str
    subject: str
    key_type: str
    not_after_unix: int


def _s(value):
    return value.decode("utf-8", "replace") if value is not None else ""


def _list(count_fn, item_fn, handle):
    return tuple(_s(item_fn(handle, i)) for i in range(count_fn(handle)))


def _client_info(lib, info):
    return ClientInfo(
        label=_s(lib.tl_client_info_label(info)),
        name=_s(lib.tl_client_info_name(info)),
        name_kind=NAME_KINDS.get(lib.tl_client_info_name_kind(info), "unknown"),
        fingerprint=_s(lib.tl_client_info_fingerprint(info)),
        certificate_pem=_s(lib.tl_client_info_certificate_pem(info)),
        require_htl=bool(lib.tl_client_info_require_htl(info)),
        ott_expiry=lib.tl_client_info_ott_expiry(info),
        effective_ott_expiry=lib.tl_client_info_effective_ott_expiry(info),
        registered_unix=lib.tl_client_info_registered_unix(info),
        changed_unix=lib.tl_client_info_changed_unix(info),
        host_ips=_list(lib.tl_client_info_num_host_ips, lib.tl_client_info_host_ip, info),
        partitions=_list(lib.tl_client_info_num_partitions, lib.tl_client_info_partition,
                         info),
        warnings=_list(lib.tl_client_info_num_warnings, lib.tl_client_info_warning, info),
        changed=bool(lib.tl_client_info_changed(info)))


def _partition_info(lib, info):
    return PartitionInfo(
        name=_s(lib.tl_partition_info_name(info)),
        label=_s(lib.tl_partition_info_label(info)),
        serial=_s(lib.tl_partition_info_serial(info)),
        created_unix=lib.tl_partition_info_created_unix(info),
        clients=_list(lib.tl_partition_info_num_clients, lib.tl_partition_info_client, info))


_SETTING_FIELDS = [f.name for f in dataclasses.fields(ApplianceSettings)]


def _settings(lib, handle):
    values = {}
    for name in _SETTING_FIELDS:
        value = getattr(lib, "tl_appliance_settings_" + name)(handle)
        if name == "bind_address":
            value = _s(value)
        elif name in ("ipcheck", "tcp_keepalive"):
            value = bool(value)
        values[name] = value
    return ApplianceSettings(**values)


def default_root():
    """$TRUSTLINK_APPLIANCE_ROOT if set, else /var/lib/trustlink/appliance."""
    return copied_string(_lib.lib().tl_appliance_default_root)


class Registry(Owned):
    """The registry under an appliance root (root None: default_root()).

    create=True makes the root (mode 0700) if it is missing. Thread safety: may be used from
    many threads at once; close() must not race the other calls."""

    def __init__(self, root=None, *, create=False):
        self._lib = _lib.lib()
        handle = ctypes.c_void_p()
        check(self._lib.tl_registry_load(_text(root, "root"),
                                         OPEN_CREATE if create else OPEN_EXISTING,
                                         ctypes.byref(handle)))
        self._own(handle, self._lib.tl_registry_free, "the registry",
                  "open a new trustlink.Registry")

    @property
    def root(self):
        return _s(self._lib.tl_registry_root(self._h()))

    def generation(self):
        """Grows with every committed change, from any process."""
        out = ctypes.c_uint64()
        check(self._lib.tl_registry_generation(self._h(), ctypes.byref(out)))
        return out.value

    def refresh(self):
        """Brings the view up to date with other processes' changes."""
        check(self._lib.tl_registry_refresh(self._h()))

    def _info_call(self, fn, *args):
        """Calls a tl_registry_* function whose last argument is tl_client_info **out."""
        out = ctypes.c_void_p()
        check(fn(self._h(), *args, ctypes.byref(out)))
        try:
            return _client_info(self._lib, out)
        finally:
            self._lib.tl_client_info_free(out)

    # ---- clients

    def register_client(self, label, certificate_pem, *, hostname=None, ip=None,
                        require_htl=False, ott_expiry=0, force=False):
        """Registers a client by hostname or ip (exactly one) with its certificate (PEM)."""
        if (hostname is None) == (ip is None):
            raise error("TL_E_INVALID_ARGUMENT",
                        "register_client needs exactly one of hostname= and ip=")
        lib = self._lib
        reg = ctypes.c_void_p()
        check(lib.tl_client_registration_new(ctypes.byref(reg)))
        try:
            check(lib.tl_client_registration_set_label(reg, _text(label, "label")))
            if hostname is not None:
                check(lib.tl_client_registration_set_hostname(reg, _text(hostname, "hostname")))
            else:
                check(lib.tl_client_registration_set_ip(reg, _text(ip, "ip")))
            check(lib.tl_client_registration_set_certificate_pem(
                reg, _text(certificate_pem, "certificate_pem")))
            check(lib.tl_client_registration_set_require_htl(reg, 1 if require_htl else 0))
            check(lib.tl_client_registration_set_ott_expiry(reg, int(ott_expiry)))
            check(lib.tl_client_registration_set_force(reg, 1 if force else 0))
            return self._info_call(lib.tl_registry_register_client, reg)
        finally:
            lib.tl_client_registration_free(reg)

    def delete_client(self, label):
        """De-registers a client; its live links close at once."""
        check(self._lib.tl_registry_delete_client(self._h(), _text(label, "label")))

    def get_client(self, label):
        return self._info_call(self._lib.tl_registry_get_client, _text(label, "label"))

    def find_client_by_fingerprint(self, fingerprint):
        return self._info_call(self._lib.tl_registry_find_client_by_fingerprint,
                               _text(fingerprint, "fingerprint"))

    def _list_call(self, fn, count, get, free, convert):
        """Calls a tl_registry_list_* function and converts every entry of its list."""
        out = ctypes.c_void_p()
        check(fn(self._h(), ctypes.byref(out)))
        try:
            return [convert(self._lib, get(out, i)) for i in range(count(out))]
        finally:
            free(out)

    def list_clients(self):
        lib = self._lib
        return self._list_call(lib.tl_registry_list_clients, lib.tl_client_list_count,
                               lib.tl_client_list_get, lib.tl_client_list_free, _client_info)

    def replace_certificate(self, label, certificate_pem, *, force=False):
        return self._info_call(self._lib.tl_registry_replace_certificate,
                               _text(label, "label"), _text(certificate_pem, "certificate_pem"),
                               1 if force else 0)

    def set_require_htl(self, label, require_htl, ott_expiry=0):
        return self._info_call(self._lib.tl_registry_set_require_htl, _text(label, "label"),
                               1 if require_htl else 0, int(ott_expiry))

    def map_host_ip(self, label, ip):
        return self._info_call(self._lib.tl_registry_map_host_ip, _text(label, "label"),
                               _text(ip, "ip"))

    def unmap_host_ip(self, label, ip):
        return self._info_call(self._lib.tl_registry_unmap_host_ip, _text(label, "label"),
                               _text(ip, "ip"))

    def assign_partition(self, label, partition):
        return self._info_call(self._lib.tl_registry_assign_partition, _text(label, "label"),
                               _text(partition, "partition"))

    def revoke_partition(self, label, partition):
        return self._info_call(self._lib.tl_registry_revoke_partition, _text(label, "label"),
                               _text(partition, "partition"))

    # ---- partitions

    def _partition_call(self, fn, *args):
        out = ctypes.c_void_p()
        check(fn(self._h(), *args, ctypes.byref(out)))
        try:
            return _partition_info(self._lib, out) if out.value else None
        finally:
            self._lib.tl_partition_info_free(out)

    def create_partition(self, name, label=None, serial=None):
        """Makes a partition; serial None gets a fresh unique one."""
        return self._partition_call(self._lib.tl_registry_create_partition,
                                    _text(name, "name"), _text(label, "label"),
                                    _text(serial, "serial"))

    def delete_partition(self, name, *, force=False):
        """Deletes a partition. Without force it fails while clients use it; with force the
        result lists the clients that lost it."""
        return self._partition_call(self._lib.tl_registry_delete_partition,
                                    _text(name, "name"), 1 if force else 0)

    def get_partition(self, name):
        return self._partition_call(self._lib.tl_registry_get_partition, _text(name, "name"))

    def list_partitions(self):
        lib = self._lib
        return self._list_call(lib.tl_registry_list_partitions, lib.tl_partition_list_count,
                               lib.tl_partition_list_get, lib.tl_partition_list_free,
                               _partition_info)

    # ---- settings

    def settings(self):
        lib = self._lib
        out = ctypes.c_void_p()
        check(lib.tl_registry_get_settings(self._h(), ctypes.byref(out)))
        try:
            return _settings(lib, out)
        finally:
            lib.tl_appliance_settings_free(out)

    def update_settings(self, **changes):
        """Changes only the named fields of ApplianceSettings, atomically; returns the
        settings now in force. update_settings(ipcheck=False, htl_grace_period=30)."""
        unknown = sorted(set(changes) - set(_SETTING_FIELDS))
        if unknown:
            raise TypeError("unknown setting(s) %s; the settings are %s" %
                            (", ".join(unknown), ", ".join(_SETTING_FIELDS)))
        lib = self._lib
        patch = ctypes.c_void_p()
        check(lib.tl_appliance_settings_new(ctypes.byref(patch)))
        out = ctypes.c_void_p()
        try:
            for name, value in changes.items():
                if value is None:
                    continue
                setter = getattr(lib, "tl_appliance_settings_set_" + name)
                if name == "bind_address":
                    check(setter(patch, _text(value, name)))
                else:
                    check(setter(patch, int(value)))
            check(lib.tl_registry_update_settings(self._h(), patch, ctypes.byref(out)))
            return _settings(lib, out)
        finally:
            lib.tl_appliance_settings_free(out)
            lib.tl_appliance_settings_free(patch)

    # ---- the appliance's identity (server.pem)

    def _identity_call(self, fn, *args):
        lib = self._lib
        out = ctypes.c_void_p()
        check(fn(self._h(), *args, ctypes.byref(out)))
        try:
            return [ServerCertificate(
                certificate_pem=_s(lib.tl_server_identity_certificate_pem(out, i)),
                fingerprint=_s(lib.tl_server_identity_fingerprint(out, i)),
                subject=_s(lib.tl_server_identity_subject(out, i)),
                key_type=_s(lib.tl_server_identity_key_type(out, i)),
                not_after_unix=lib.tl_server_identity_not_after_unix(out, i))
                for i in range(lib.tl_server_identity_num_certificates(out))]
        finally:
            lib.tl_server_identity_free(out)

    def server_certificates(self):
        """The appliance's certificates, current first (TL_E_NOT_FOUND before first start)."""
        return self._identity_call(self._lib.tl_registry_load_server_identity)

    def ensure_server_identity(self, appliance_name, key_type=None):
        """Loads the identity, or makes it for appliance_name (hostname or IP) at first use."""
        return self._identity_call(self._lib.tl_registry_ensure_server_identity,
                                   _text(appliance_name, "appliance_name"),
                                   _text(key_type, "key_type"))
