"""The README's shape, slots, calls by op name and number, against the installed ntlsd."""

import hashlib
import os
import struct

import pytest

import trustlink


def test_readme_example(client_root, capsys):
    with trustlink.Client(root=client_root) as c:
        for slot in c.slots():
            print(slot.id, slot.partition)
        print(c.call(c.slots()[0].id, "echo", b"hello"))
    out = capsys.readouterr().out
    assert "0 par1\n" in out
    assert "b'hello'\n" in out


def test_root_none_is_the_default_root(client_root, monkeypatch):
    monkeypatch.setenv("TRUSTLINK_CLIENT_ROOT", client_root)
    with trustlink.Client(root=None) as c:
        assert [s.partition for s in c.slots()] == ["par1"]


def test_slot_fields(client):
    (slot,) = client.slots()
    assert slot.server == "127.0.0.1"
    assert slot.partition == "par1"
    assert slot.serial
    assert slot.state is trustlink.SlotState.READY
    (server,) = client.servers()
    assert server.name == "127.0.0.1"
    assert server.state is trustlink.LinkState.READY
    assert server.status == "TL_OK"


def test_the_library_is_the_installed_one(prefix):
    assert trustlink.library_path().startswith(os.path.join(prefix, "lib", "libtrustlink.so.1"))
    assert trustlink.version().startswith("1.")


def test_ops_by_name_and_number(client, slot):
    data = b"\x00binary\x00data\xff"
    assert client.call(slot, "echo", data) == data
    assert client.call(slot.id, 1, bytearray(data)) == data
    assert client.call(slot, "sha256", data) == hashlib.sha256(data).digest()
    assert client.call(slot, 3, memoryview(data)) == hashlib.sha256(data).digest()
    assert len(client.call(slot, "random", struct.pack(">I", 48))) == 48
    mac = client.call(slot, "hmac", data)
    assert len(mac) == 32 and client.call(slot, "hmac-sha256", data) == mac
    assert client.call(slot, "echo", b"") == b""


def test_large_payload_without_a_timeout(client, slot):
    """A call with no timeout (TL_CLIENT_NO_TIMEOUT) that does not fit in one write used to
    stall for minutes: the waiting caller spun on its mutex and starved the I/O thread
    (ntl/internal/mutex_test.cc, AnInfiniteDeadlineWaitsForTheSignal)."""
    for _ in range(3):
        data = os.urandom(200000)
        assert client.call(slot, "echo", data, timeout_ms=None) == data


def test_settings_builder_opens_like_the_root(client_root, slot):
    with trustlink.Settings.from_root(client_root) as s:
        s.set_timeouts(5000, 1000, 3000).set_keepalive(True, 30, 5, 3).set_initial_wait(5000)
        with trustlink.Client(settings=s) as c1, trustlink.Client(settings=s) as c2:
            assert c1.call(slot.id, "echo", b"one") == b"one"
            assert c2.call(slot.id, "echo", b"two") == b"two"


def test_no_threads_mode(client_root, slot):
    with trustlink.Settings.from_root(client_root) as s:
        s.set_no_threads()
        with trustlink.Client(settings=s) as c:
            assert c.fd() >= 0
            # Blocking calls drive the I/O themselves in this mode.
            c.wait_ready(20000)
            assert c.call(slot.id, "echo", b"driven") == b"driven"
            future = c.call_async(slot.id, "echo", b"polled")
            for _ in range(200):
                if future.done():
                    break
                c.process(50)
            assert future.result(0) == b"polled"
            assert c.next_link_event().kind is trustlink.LinkEventKind.UP


def test_root_and_settings_together_are_refused(client_root):
    with trustlink.Settings.from_root(client_root) as s:
        with pytest.raises(TypeError, match="root or settings"):
            trustlink.Client(root=client_root, settings=s)
