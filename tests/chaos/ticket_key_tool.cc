// ticket_key_tool: drives the ticket key file for ticket_key_kill_test.sh.
//   ticket_key_tool reset DIR   writes known keys (current id 01020304, made
//   now) ticket_key_tool rotate DIR  opens the ring on DIR and rotates once, as
//   ntlsd's
//                               writer does every rotation interval
//   ticket_key_tool show DIR    prints "current=<id> previous=<id|none>" of the
//   file,
//                               or its error (exit 1)
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "ntl/server/ticket_key_file.h"
#include "ntl/server/ticket_key_ring.h"

namespace tk = trustlink::ntl::server::internal_engine;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: ticket_key_tool reset|rotate|show DIR\n");
    return 2;
  }
  const std::string mode = argv[1];
  const std::string dir = argv[2];
  if (mode == "reset") {
    tk::StoredTicketKeys keys{tk::NewTicketKey(absl::Now()), std::nullopt};
    keys.current.id = 0x04030201;  // bytes 01 02 03 04 in the file
    absl::Status st = tk::WriteTicketKeyFile(dir, keys);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
      return 1;
    }
    return 0;
  }
  if (mode == "rotate") {
    tk::TicketKeyRingOptions o;
    o.dir = dir;
    o.log = [](absl::string_view l) {
      std::fprintf(stderr, "%s\n", std::string(l).c_str());
    };
    auto ring = tk::TicketKeyRing::Open(std::move(o), absl::Now());
    ring->RotateNowForTest();
    return ring->persisted() ? 0 : 1;
  }
  if (mode == "show") {
    auto keys = tk::ReadTicketKeyFile(dir);
    if (!keys.ok()) {
      std::printf("error %s\n", std::string(keys.status().message()).c_str());
      return 1;
    }
    auto hex = [](uint32_t id) {
      unsigned char b[4];
      std::memcpy(b, &id, 4);
      return absl::StrFormat("%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
    };
    std::printf("current=%s previous=%s\n", hex(keys->current.id).c_str(),
                keys->previous ? hex(keys->previous->id).c_str() : "none");
    return 0;
  }
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
