// Feeds arbitrary bytes to the frame decoder and to every message decoder: none
// may crash, read out of bounds or allocate without bound.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "ntl/wire/frame.h"
#include "ntl/wire/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trustlink::ntl::wire;  // NOLINT: a fuzz entry point, kept
                                         // short
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  while (true) {
    DecodeResult result = DecodeFrame(input, 64 * 1024);
    if (result.kind != DecodeResult::Kind::kFrame) {
      break;
    }
    absl::string_view payload = result.frame.payload;
    (void)DecodeHello(payload);
    (void)DecodeWelcome(payload);
    (void)DecodeRequest(payload);
    (void)DecodeResponse(payload);
    (void)DecodeStreamOpen(payload);
    (void)DecodeClosing(payload);
    input.remove_prefix(result.consumed);
  }
  return 0;
}
