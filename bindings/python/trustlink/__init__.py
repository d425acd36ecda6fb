"""trustlink: Network Trust Links between HSM clients and the HSM appliance, in Python.

A pure ctypes binding over the installed libtrustlink.so.1 (no compiler needed); see
bindings/python/README.md. The library is found through $TRUSTLINK_LIBRARY, the dynamic
loader (LD_LIBRARY_PATH, ldconfig), pkg-config's libdir of trustlink.pc, then
ctypes.util.find_library.

    import trustlink
    with trustlink.Client(root=None) as c:        # None: the default client root
        for slot in c.slots():
            print(slot.id, slot.partition)
        print(c.call(c.slots()[0].id, "echo", b"hello"))
"""

from trustlink import codes
from trustlink._errors import Error, status_name
from trustlink._lib import LibraryError
from trustlink.client import (OPS, Client, LinkEvent, LinkEventKind, LinkState,
                              ServerState, Slot, SlotState)
from trustlink.htl import HtlAppliance, HtlRow, HtlSettings
from trustlink.log import LogEvent, LogLevel, log_to_python, set_log_handler
from trustlink.registry import (ApplianceSettings, ClientInfo, PartitionInfo, Registry,
                                ServerCertificate, default_root)
from trustlink.server import Server
from trustlink.settings import NO_TIMEOUT, Settings


def version():
    """The loaded library's version string ("1.1.0")."""
    from trustlink import _lib
    return _lib.lib().tl_version_string().decode()


def library_path():
    """Where the loaded libtrustlink.so.1 is."""
    from trustlink import _lib
    return _lib.path()


__all__ = [
    "ApplianceSettings", "Client", "ClientInfo", "Error", "codes", "HtlAppliance", "HtlRow",
    "HtlSettings", "LibraryError", "LinkEvent", "LinkEventKind", "LinkState", "LogEvent",
    "LogLevel", "NO_TIMEOUT", "OPS", "PartitionInfo", "Registry", "Server",
    "ServerCertificate", "ServerState", "Settings", "Slot", "SlotState", "default_root",
    "library_path", "log_to_python", "set_log_handler", "status_name", "version",
]
