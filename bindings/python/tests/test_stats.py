"""Counters: Client.stats() and Server.stats() read the library's snapshots."""

import pytest

import trustlink


def test_client_and_server_count_the_same_calls(appliance):
    with trustlink.Client(settings=appliance.settings()) as c:
        (slot,) = c.slots()
        before_client = c.stats()
        before_server = appliance.server.stats()
        for _ in range(7):
            assert c.call(slot, "echo", b"count me") == b"count me"
        client = c.stats()
        server = appliance.server.stats()
    assert client["calls"] - before_client["calls"] == 7
    assert server["calls"] - before_server["calls"] == 7
    assert client["bytes_out"] > before_client["bytes_out"]
    assert client["handshakes_full"] + client["handshakes_resumed"] >= 1
    assert all(isinstance(v, int) and v >= 0 for v in client.values())


def test_stats_of_a_closed_client_raise(appliance):
    c = trustlink.Client(settings=appliance.settings())
    c.close()
    with pytest.raises(trustlink.Error) as e:
        c.stats()
    assert e.value.status == "TL_E_FAILED_PRECONDITION"
