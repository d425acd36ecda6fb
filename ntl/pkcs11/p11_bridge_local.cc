// p11_bridge_local: the PKCS#11 bridge over the local stand-in transport.
// p11-kit-proxy runs it from a module config (`remote: |p11_bridge_local
// -socket S -server X -partition P`). Once the link is merged, `vtl p11 bridge
// -server X -partition P` is the same RunBridge call with a ChannelOpener over
// the NTLA's stream channel instead of OpenLocalChannel.

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "ntl/pkcs11/bridge.h"
#include "ntl/pkcs11/local_transport.h"
#include "ntl/pkcs11/token_store.h"

namespace {

int Usage() {
  fprintf(
      stderr,
      "usage: p11_bridge_local -socket PATH -server NAME -partition NAME\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path, server, partition;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "-socket") == 0) {
      socket_path = argv[i + 1];
    } else if (strcmp(argv[i], "-server") == 0) {
      server = argv[i + 1];
    } else if (strcmp(argv[i], "-partition") == 0) {
      partition = argv[i + 1];
    } else {
      return Usage();
    }
  }
  if (argc % 2 != 1 || socket_path.empty() || partition.empty()) {
    return Usage();
  }
  using trustlink::ntl::pkcs11::ChannelCallbacks;
  if (absl::Status s = trustlink::ntl::pkcs11::ValidatePartitionName(partition);
      !s.ok()) {
    fprintf(stderr, "p11 bridge: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  // p11-kit-proxy passes our stderr through to the application's terminal.
  bool reported = false;
  auto report = [&](const absl::Status& s) {
    if (!s.ok() && !reported) {
      reported = true;
      fprintf(stderr, "p11 bridge: partition '%s' on server '%s': %s\n",
              partition.c_str(), server.c_str(),
              std::string(s.message()).c_str());
    }
  };
  trustlink::ntl::pkcs11::BridgeOptions options;
  options.on_stream_end = report;
  absl::Status s = trustlink::ntl::pkcs11::RunBridge(
      STDIN_FILENO, STDOUT_FILENO,
      [&](ChannelCallbacks callbacks) {
        return trustlink::ntl::pkcs11::OpenLocalChannel(socket_path, partition,
                                                        std::move(callbacks));
      },
      options);
  report(s);
  return s.ok() ? 0 : 1;
}
