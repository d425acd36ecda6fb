"""close() is safe from any thread, from the client's own callbacks, and more than once."""

import threading

import pytest

import trustlink
from conftest import Recorder, wait_until

JOIN_S = 30


def _closed_error(e):
    return isinstance(e, trustlink.Error) and e.status == "TL_E_FAILED_PRECONDITION" and \
        "closed" in e.message


def test_calls_after_close_raise_a_clear_error(client_root, slot):
    c = trustlink.Client(root=client_root)
    c.close()
    c.close()  # idempotent
    assert c.closed
    for call in (lambda: c.slots(), lambda: c.call(slot.id, "echo", b"x"),
                 lambda: c.call_async(slot.id, "echo", b"x"), lambda: c.servers()):
        with pytest.raises(trustlink.Error) as info:
            call()
        assert _closed_error(info.value), info.value
        assert "open a new trustlink.Client" in info.value.message


def test_close_from_another_thread_while_calls_run(client_root, slot):
    c = trustlink.Client(root=client_root)
    started = threading.Barrier(5)
    outcomes = Recorder()

    def caller():
        started.wait()
        while True:
            try:
                c.call(slot.id, "echo", b"busy")
                c.call_async(slot.id, "echo", b"busy").exception(timeout=20)
            except trustlink.Error as e:
                outcomes(e)
                return

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for t in threads:
        t.start()
    started.wait()
    closer = threading.Thread(target=c.close)
    closer.start()
    closer.join(JOIN_S)
    assert not closer.is_alive(), "close() from another thread hung"
    for t in threads:
        t.join(JOIN_S)
    assert not any(t.is_alive() for t in threads), "a caller hung after close"
    assert len(outcomes.items) == 4
    assert all(_closed_error(e) for e in outcomes.items), outcomes.items


def test_two_threads_close_at_once(client_root):
    c = trustlink.Client(root=client_root)
    go = threading.Barrier(2)

    def close():
        go.wait()
        c.close()

    threads = [threading.Thread(target=close) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_S)
    assert not any(t.is_alive() for t in threads), "a concurrent close hung"
    assert c.closed


def test_close_from_the_link_event_callback(appliance):
    """The callback runs on the library's I/O thread, which tl_client_close joins: the
    binding finishes the close on another thread instead of deadlocking (or, as the library
    does when a thread joins itself, aborting)."""
    returned = Recorder()

    def on_event(event):
        if event.kind is trustlink.LinkEventKind.SLOTS_CHANGED:
            event.client.close()
            returned(threading.current_thread())

    c = trustlink.Client(settings=appliance.settings(), on_link_event=on_event)
    appliance.registry.create_partition("pyp2")
    appliance.registry.assign_partition("py1", "pyp2")
    thread = returned.wait_for(lambda e: True, "close() returning inside the callback")
    assert thread is not threading.current_thread()
    assert c.closed
    with pytest.raises(trustlink.Error) as info:
        c.slots()
    assert _closed_error(info.value)
    wait_until(lambda: c._closed.is_set(), "the deferred close finishing")


def test_close_from_an_event_delivered_during_open(client_root):
    """UP events that come while the constructor runs are delivered when it has the handle;
    closing from one leaves a closed client, not a hang."""
    returned = Recorder()

    def on_event(event):
        if event.kind is trustlink.LinkEventKind.UP:
            event.client.close()
            returned(event)

    c = trustlink.Client(root=client_root, on_link_event=on_event)
    assert returned.wait_for(lambda e: True, "close() returning inside the callback").client is c
    assert c.closed
    with pytest.raises(trustlink.Error) as info:
        c.slots()
    assert _closed_error(info.value)
    wait_until(lambda: c._closed.is_set(), "the deferred close finishing")


def test_close_from_an_async_callback(client, slot):
    returned = Recorder()

    def on_done(future):
        client.close()
        returned(future.result())

    client.call_async(slot, "echo", b"then close", callback=on_done)
    assert returned.wait_for(lambda r: True, "the callback") == b"then close"
    wait_until(lambda: client._closed.is_set(), "the deferred close finishing")
    with pytest.raises(trustlink.Error) as info:
        client.call(slot, "echo", b"x")
    assert _closed_error(info.value)


def test_context_manager_closes(client_root):
    with trustlink.Client(root=client_root) as c:
        pass
    assert c.closed and c._closed.is_set()


def test_an_unreferenced_client_is_closed(client_root):
    c = trustlink.Client(root=client_root)
    closed = c._closed
    del c
    wait_until(closed.is_set, "the collected client's close")
