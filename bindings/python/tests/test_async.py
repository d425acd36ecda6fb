"""Asynchronous calls: futures, callbacks on the library's thread, exceptions kept in Python."""

import asyncio
import threading

import pytest

import trustlink
import conftest
from conftest import Recorder


def test_call_async_resolves_with_the_response(client, slot):
    done = Recorder()
    future = client.call_async(slot, "echo", b"async hello", callback=done)
    assert future.result(timeout=20) == b"async hello"
    got = done.wait_for(lambda f: True, "the callback")
    assert got is future


def test_callback_runs_on_the_library_thread(client, slot):
    done = Recorder()
    for i in range(50):
        client.call_async(slot, "echo", b"%d" % i, callback=done)
    done.wait_for(lambda f: len(done.items) == 50, "50 callbacks")
    assert sorted(f.result() for f in done.items) == sorted(b"%d" % i for i in range(50))
    assert threading.main_thread() not in done.threads


def test_failure_is_an_error_with_the_message(client, slot):
    future = client.call_async(slot, 99, b"x")
    error = future.exception(timeout=20)
    assert isinstance(error, trustlink.Error)
    assert error.status == "TL_E_UNIMPLEMENTED" and "no operation 99" in error.message


def test_a_refused_call_raises_at_once_and_never_calls_back(client):
    called = Recorder()
    with pytest.raises(trustlink.Error) as info:
        client.call_async(77, "echo", b"x", callback=called)
    assert info.value.status == "TL_E_NOT_FOUND"
    # Nothing is pending: a synchronous call behind it completes and no callback came.
    assert client.call(0, "echo", b"after") == b"after"
    assert called.items == []


def test_an_exception_in_the_callback_stays_in_python(client, slot, caplog):
    def boom(_future):
        raise RuntimeError("raised inside the callback")

    # concurrent.futures logs a done-callback's exception; the link must not notice it.
    future = client.call_async(slot, "echo", b"x", callback=boom)
    assert future.result(timeout=20) == b"x"
    assert client.call(slot, "echo", b"still fine") == b"still fine"
    conftest.wait_until(lambda: "raised inside the callback" in caplog.text,
                        "the logged callback exception")


def test_awaitable_with_asyncio(client, slot):
    async def main():
        return await asyncio.wrap_future(client.call_async(slot, "echo", b"awaited"))
    assert asyncio.run(main()) == b"awaited"


def test_futures_cannot_be_cancelled_but_close_cancels_them(client_root, slot):
    c = trustlink.Client(root=client_root)
    # 200 calls of 100 kB: some are still in flight when close() comes.
    futures = [c.call_async(slot.id, "echo", b"x" * 100000) for _ in range(200)]
    assert not futures[-1].cancel()
    c.close()
    for f in futures:
        error = f.exception(timeout=20)
        assert error is None or error.status == "TL_E_CANCELLED", error
