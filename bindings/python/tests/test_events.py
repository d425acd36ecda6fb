"""Link events and the log bridge, against a trustlink.Server in this process."""

import logging
import sys
import threading

import trustlink
from conftest import Recorder, wait_until

Kind = trustlink.LinkEventKind


def test_up_slots_changed_and_down(appliance):
    events = Recorder()
    with trustlink.Client(settings=appliance.settings(), on_link_event=events) as c:
        up = events.wait_for(lambda e: e.kind is Kind.UP, "UP")
        assert (up.server_index, up.status, up.code, up.client) == (0, "TL_OK", 0, c)
        assert [s.partition for s in c.slots()] == ["pyp1"]

        # A registry change reaches the live link at once, as a slots-changed event.
        appliance.registry.create_partition("pyp2")
        appliance.registry.assign_partition("py1", "pyp2")
        events.wait_for(lambda e: e.kind is Kind.SLOTS_CHANGED, "SLOTS_CHANGED")
        assert [s.partition for s in c.slots()] == ["pyp1", "pyp2"]

        appliance.server.close()
        down = events.wait_for(lambda e: e.kind is Kind.DOWN, "DOWN")
        assert down.status == "TL_E_CONNECTION_LOST" and down.code == 205
        (server,) = c.servers()
        assert server.state is not trustlink.LinkState.READY
        assert server.status == "TL_E_CONNECTION_LOST" and "closed" in server.message
    assert threading.main_thread() not in events.threads[1:]


def test_events_queue_without_a_callback(appliance):
    with trustlink.Client(settings=appliance.settings()) as c:
        # The event is queued by the I/O thread's pass that made the link ready, which may
        # end a little after wait_ready returns.
        got = []
        wait_until(lambda: got.append(c.next_link_event()) or got[-1] is not None,
                   "the queued UP event")
        assert got[-1].kind is Kind.UP and got[-1].client is c
        assert c.next_link_event() is None


def test_an_exception_in_the_event_callback_stays_in_python(appliance, monkeypatch):
    unraisable = Recorder()
    monkeypatch.setattr(sys, "unraisablehook", unraisable)

    def boom(event):
        raise ValueError("raised in on_link_event")

    with trustlink.Client(settings=appliance.settings(), on_link_event=boom) as c:
        got = unraisable.wait_for(lambda u: True, "the reported exception")
        assert got.exc_type is ValueError and "on_link_event" in got.err_msg
        assert c.call(c.slots()[0], "echo", b"alive") == b"alive"


def test_log_lines_become_logging_records(appliance, caplog):
    caplog.set_level(logging.DEBUG, logger="trustlink")
    trustlink.log_to_python()
    try:
        with trustlink.Client(settings=appliance.settings()) as c:
            c.call(c.slots()[0], "echo", b"logged")

        def authenticated(r):
            return getattr(r, "trustlink", None) is not None and \
                r.trustlink.kind == "authenticated"
        wait_until(lambda: any(authenticated(r) for r in caplog.records),
                   "an 'authenticated' record")
        record = next(r for r in caplog.records if authenticated(r))
        assert record.name == "trustlink.ntls" and record.levelno == logging.INFO
        event = record.trustlink
        assert event.client == "py1"
        assert event.addresses and event.addresses[0].startswith("127.0.0.1:")
        assert "fingerprint" in event.fields
        assert record.getMessage() == event.line
    finally:
        trustlink.set_log_handler(None)


def test_set_log_handler_with_a_level(appliance):
    seen = Recorder()
    trustlink.set_log_handler(seen, trustlink.LogLevel.WARNING)
    try:
        # A client the appliance does not know: refused, at WARNING.
        appliance.registry.delete_client("py1")
        with trustlink.Client(settings=appliance.settings()) as c:
            c.wait_ready(20000)
        refused = seen.wait_for(lambda e: e.kind in ("refused", "handshake-failed"),
                                "a refusal")
        assert refused.level >= trustlink.LogLevel.WARNING
        assert all(e.level >= trustlink.LogLevel.WARNING for e in seen.items)
    finally:
        trustlink.set_log_handler(None)
