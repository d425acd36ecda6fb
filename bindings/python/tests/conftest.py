"""Fixtures for the binding's tests.

python_test.sh installs the library into a prefix, starts the installed ntlsd and enrols a
client (tests/embedding/lib.sh), then runs pytest with:
  TRUSTLINK_TEST_PREFIX     the install prefix (lib/, bin/)
  TRUSTLINK_TEST_CLIENT     the enrolled client root (client web1 at 127.0.0.1, partition par1)
  TRUSTLINK_TEST_APPLIANCE  ntlsd's appliance root
The library is found through PKG_CONFIG_PATH only, as an installed binding finds it.
"""

import os
import threading
import time

import pytest

import trustlink

DEADLINE_S = 20


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.exit("%s is not set: run these tests through bindings/python/python_test.sh "
                    "(bazel test //bindings/python:python_test)" % name, returncode=2)
    return value


@pytest.fixture(scope="session")
def prefix():
    return _env("TRUSTLINK_TEST_PREFIX")


@pytest.fixture(scope="session")
def client_root():
    return _env("TRUSTLINK_TEST_CLIENT")


@pytest.fixture(scope="session")
def appliance_root():
    return _env("TRUSTLINK_TEST_APPLIANCE")


@pytest.fixture
def client(client_root):
    with trustlink.Client(root=client_root) as c:
        yield c


@pytest.fixture
def slot(client):
    """The slot of par1, ntlsd's partition for web1."""
    return next(s for s in client.slots() if s.partition == "par1")


def wait_until(predicate, what, timeout_s=DEADLINE_S):
    """Polls predicate under a deadline; fails naming what did not happen."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("%s did not happen within %d s" % (what, timeout_s))
        time.sleep(0.02)  # polling under a deadline


class Recorder:
    """Collects callback arguments from any thread, and waits for them under a deadline."""

    def __init__(self):
        self._cond = threading.Condition()
        self.items = []
        self.threads = []

    def __call__(self, item):
        with self._cond:
            self.items.append(item)
            self.threads.append(threading.current_thread())
            self._cond.notify_all()

    def wait_for(self, predicate, what, timeout_s=DEADLINE_S):
        with self._cond:
            if not self._cond.wait_for(lambda: any(predicate(i) for i in self.items),
                                       timeout_s):
                pytest.fail("%s did not arrive within %d s; got %r" %
                            (what, timeout_s, self.items))
            return next(i for i in self.items if predicate(i))


class InProcessAppliance:
    """A trustlink.Server in this process over a fresh appliance root, with client py1 (the
    enrolled client's certificate) registered for 127.0.0.1 and given partition pyp1."""

    def __init__(self, root, client_root):
        cert_path = os.path.join(client_root, "cert", "client", "127.0.0.1.pem")
        key_path = os.path.join(client_root, "cert", "client", "127.0.0.1Key.pem")
        with open(cert_path) as f:
            self.client_cert = f.read()
        with open(key_path) as f:
            self.client_key = f.read()
        self.root = root
        self.registry = trustlink.Registry(root, create=True)
        self.server_cert = self.registry.ensure_server_identity("127.0.0.1")[0]
        self.registry.create_partition("pyp1", "python partition")
        self.registry.register_client("py1", self.client_cert, ip="127.0.0.1")
        self.registry.assign_partition("py1", "pyp1")
        self.server = trustlink.Server(root, "127.0.0.1").start()
        self.port = self.server.port

    def settings(self):
        return (trustlink.Settings()
                .add_server("127.0.0.1", self.port,
                            pinned_cert_pem=self.server_cert.certificate_pem)
                .set_identity_pem(self.client_cert, self.client_key))

    def close(self):
        self.server.close()
        self.registry.close()


@pytest.fixture
def appliance(tmp_path, client_root):
    a = InProcessAppliance(str(tmp_path / "appliance"), client_root)
    yield a
    a.close()
