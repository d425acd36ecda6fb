"""The registry and the HTL appliance, on the root the running ntlsd serves."""

import os
import stat

import pytest

import trustlink
from conftest import Recorder


def test_clients_and_partitions(appliance_root):
    with trustlink.Registry(appliance_root) as reg:
        assert reg.root == appliance_root
        web1 = reg.get_client("web1")
        assert (web1.name, web1.name_kind, web1.partitions) == ("127.0.0.1", "ipv4", ("par1",))
        assert reg.find_client_by_fingerprint(web1.fingerprint).label == "web1"
        assert [c.label for c in reg.list_clients()] == ["web1"]
        assert "par1" in [p.name for p in reg.list_partitions()]
        assert reg.get_partition("par1").clients == ("web1",)


def test_a_partition_assigned_reaches_the_live_client(appliance_root, client_root):
    events = Recorder()
    with trustlink.Registry(appliance_root) as reg, \
            trustlink.Client(root=client_root, on_link_event=events) as c:
        before = reg.generation()
        reg.create_partition("live1", "assigned live", "77007")
        info = reg.assign_partition("web1", "live1")
        assert info.changed and info.partitions == ("live1", "par1")
        assert reg.generation() > before
        try:
            events.wait_for(lambda e: e.kind is trustlink.LinkEventKind.SLOTS_CHANGED,
                            "SLOTS_CHANGED from ntlsd")
            (live,) = [s for s in c.slots() if s.partition == "live1"]
            assert (live.label, live.serial) == ("assigned live", "77007")
            assert c.call(live, "echo", b"on live1") == b"on live1"
            again = reg.assign_partition("web1", "live1")
            assert not again.changed and again.warnings
        finally:
            reg.revoke_partition("web1", "live1")
            lost = reg.delete_partition("live1")
        assert lost.name == "live1"


def test_registry_errors(appliance_root):
    with trustlink.Registry(appliance_root) as reg:
        with pytest.raises(trustlink.Error) as info:
            reg.get_client("nobody")
        assert info.value.status == "TL_E_NOT_FOUND" and "nobody" in info.value.message
        with pytest.raises(trustlink.Error) as info:
            reg.register_client("web2", reg.get_client("web1").certificate_pem, ip="127.0.0.9",
                                force=True)
        assert info.value.status == "TL_E_ALREADY_EXISTS" and "web1" in info.value.message
        with pytest.raises(trustlink.Error) as info:
            reg.register_client("bad", "pem", ip="127.0.0.9", hostname="h")
        assert info.value.status == "TL_E_INVALID_ARGUMENT"
        with pytest.raises(trustlink.Error) as info:
            reg.update_settings(keepalive_idle=-5)
        assert info.value.status == "TL_E_OUT_OF_RANGE"
        with pytest.raises(TypeError, match="unknown setting"):
            reg.update_settings(colour="blue")


def test_settings_patch_changes_only_what_it_names(appliance_root):
    with trustlink.Registry(appliance_root) as reg:
        before = reg.settings()
        after = reg.update_settings(keepalive_probes=before.keepalive_probes + 1)
        try:
            assert after.keepalive_probes == before.keepalive_probes + 1
            assert after.ipcheck == before.ipcheck and after.port == before.port
        finally:
            reg.update_settings(keepalive_probes=before.keepalive_probes)


def test_server_certificate(appliance_root):
    with trustlink.Registry(appliance_root) as reg:
        (current, *_older) = reg.server_certificates()
        assert current.certificate_pem.startswith("-----BEGIN CERTIFICATE-----")
        assert len(current.fingerprint.split(":")) == 32
        assert current.not_after_unix > 0


def test_htl_appliance_tokens_and_show(appliance_root, tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTLINK_APPLIANCE_ROOT", appliance_root)
    assert trustlink.default_root() == appliance_root
    with trustlink.Registry() as reg, trustlink.HtlAppliance(appliance_root) as htl:
        cert = reg.get_client("web1").certificate_pem
        # A client of its own, so web1's live link is not touched.
        reg.register_client("htl1", _other_cert(tmp_path), hostname="htl1.example",
                            require_htl=True)
        try:
            settings = htl.settings()
            assert settings.grace_period > 0 and settings.default_ott_expiry > 0
            path = htl.generate_ott("htl1", str(tmp_path), "htl1.example", expiry_seconds=120)
            assert os.path.isfile(path)
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            (row,) = htl.show("htl1")
            assert (row.client, row.ott_status, row.ott_expiry_seconds) == ("htl1", "Ready", 120)
            assert not row.ott_expiry_is_default
            htl.clear("htl1")
            with pytest.raises(trustlink.Error) as info:
                htl.set_grace_period(-1)
            assert info.value.status == "TL_E_OUT_OF_RANGE"
            assert "grace period" in info.value.message
            missing = str(tmp_path / "no-such-dir")
            with pytest.raises(trustlink.Error) as info:
                htl.generate_ott("htl1", missing, "htl1.example")
            assert info.value.status == "TL_E_NOT_FOUND" and missing in info.value.message
        finally:
            reg.delete_client("htl1")
        assert cert == reg.get_client("web1").certificate_pem


def _other_cert(tmp_path):
    """A second client certificate, made the way vtl createCert makes one."""
    root = str(tmp_path / "client2")
    vtl = os.path.join(os.environ["TRUSTLINK_TEST_PREFIX"], "bin", "vtl")
    rc = os.spawnv(os.P_WAIT, vtl, [vtl, "--root", root, "createCert", "-n", "htl1.example"])
    assert rc == 0, "vtl createCert exited %d" % rc
    with open(os.path.join(root, "cert", "client", "htl1.example.pem")) as f:
        return f.read()
