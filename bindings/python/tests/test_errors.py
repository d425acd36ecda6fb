"""Failures raise trustlink.Error with the status name and that failure's own message."""

import os
import subprocess
import sys
import threading

import pytest

import trustlink


def test_error_has_status_name_code_and_message(client):
    with pytest.raises(trustlink.Error) as info:
        client.call(77, "echo", b"x")
    e = info.value
    assert e.status == "TL_E_NOT_FOUND"
    assert e.code == trustlink.codes.TL_E_NOT_FOUND == 2
    assert "slot 77" in e.message and "tl_client_slots" in e.message
    assert str(e).startswith("TL_E_NOT_FOUND: slot 77")


def test_partition_status_comes_through(client, slot):
    with pytest.raises(trustlink.Error) as info:
        client.call(slot, 99, b"x")
    assert info.value.status == "TL_E_UNIMPLEMENTED"
    assert "no operation 99" in info.value.message


def test_unknown_op_name_says_which_names_exist(client, slot):
    with pytest.raises(trustlink.Error) as info:
        client.call(slot, "ecko", b"x")
    assert info.value.status == "TL_E_INVALID_ARGUMENT"
    assert "'ecko'" in info.value.message and "echo" in info.value.message


def test_text_data_is_refused_with_the_fix(client, slot):
    with pytest.raises(TypeError, match=r"encode"):
        client.call(slot, "echo", "text")


def test_dials_per_address_takes_1_to_1024():
    s = trustlink.Settings()
    assert s.set_dials_per_address(8) is s
    with pytest.raises(ValueError, match=r"1 to 1024"):
        s.set_dials_per_address(0)


def test_busy_poll_over_the_limit_is_refused_naming_it():
    s = trustlink.Settings()
    assert s.set_busy_poll(50) is s
    assert s.set_busy_poll(0) is s
    with pytest.raises(trustlink.Error, match=r"limit of 1000"):
        s.set_busy_poll(5000)


def test_missing_root_names_the_path(tmp_path):
    missing = str(tmp_path / "no-such-root")
    with pytest.raises(trustlink.Error) as info:
        trustlink.Client(root=missing)
    assert info.value.status == "TL_E_NOT_FOUND"
    assert missing in info.value.message
    with pytest.raises(trustlink.Error) as info:
        trustlink.Registry(missing)
    assert missing in info.value.message


def test_each_thread_reads_its_own_failure(client, slot):
    """Good calls on 4 threads beside failing calls on 4 others, each failing on its own slot
    id: every failure's message names that thread's slot (the thread-local last error)."""
    wrong = []
    errors = []

    def fail_loop(bad_slot):
        for _ in range(100):
            try:
                client.call(bad_slot, "echo", b"x")
                errors.append("slot %d answered" % bad_slot)
            except trustlink.Error as e:
                if "slot %d " % bad_slot not in e.message:
                    wrong.append((bad_slot, e.message))

    def good_loop():
        try:
            for _ in range(100):
                assert client.call(slot, "echo", b"ok") == b"ok"
        except Exception as e:  # pylint: disable=broad-except
            errors.append(repr(e))

    threads = [threading.Thread(target=fail_loop, args=(100 + i,)) for i in range(4)]
    threads += [threading.Thread(target=good_loop) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "calls hung"
    assert errors == []
    assert wrong == [], "%d of 400 failures read another call's message" % len(wrong)


def _python(env, code):
    """Runs code in a fresh interpreter with exactly `env` (plus PYTHONPATH)."""
    env = dict(env, PYTHONPATH=os.environ["PYTHONPATH"])
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def _base_env():
    return {k: v for k, v in os.environ.items()
            if k not in ("TRUSTLINK_LIBRARY", "PKG_CONFIG_PATH", "LD_LIBRARY_PATH")}


PRINT_PATH = "import trustlink; print(trustlink.library_path())"


def test_found_through_ld_library_path(prefix):
    r = _python(dict(_base_env(), LD_LIBRARY_PATH=os.path.join(prefix, "lib")), PRINT_PATH)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(os.path.join(prefix, "lib", "libtrustlink.so.1"))


def test_found_through_trustlink_library(prefix):
    path = os.path.join(prefix, "lib", "libtrustlink.so.1")
    r = _python(dict(_base_env(), TRUSTLINK_LIBRARY=path), PRINT_PATH)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(path)


def test_a_missing_library_says_what_was_tried_and_the_fix(tmp_path):
    missing = str(tmp_path / "libtrustlink.so.1")
    r = _python(dict(_base_env(), TRUSTLINK_LIBRARY=missing),
                "import trustlink\n"
                "try:\n"
                "    trustlink.Client()\n"
                "except trustlink.LibraryError as e:\n"
                "    print(e)\n")
    assert r.returncode == 0, r.stderr
    assert "TRUSTLINK_LIBRARY: %s" % missing in r.stdout
    assert "LD_LIBRARY_PATH=" in r.stdout and "PKG_CONFIG_PATH=" in r.stdout


def test_importing_needs_no_library(tmp_path):
    r = _python(dict(_base_env(), TRUSTLINK_LIBRARY=str(tmp_path / "none.so")),
                "import trustlink; print(issubclass(trustlink.Error, Exception))")
    assert r.returncode == 0 and r.stdout.strip() == "True", r.stderr
