// Fuzz target: ConfigDocument never crashes, and whatever it parses it writes
// back byte for byte (the lossless round-trip the admin relies on); an edit
// survives a re-parse.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ntl/config_document.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<trustlink::ntl::ConfigDocument> doc =
      trustlink::ntl::ConfigDocument::Parse(text, "fuzz.conf");
  if (!doc.ok()) return 0;
  if (doc->Serialize() != text) std::abort();
  doc->Set("Fuzz Section", "FuzzKey", "a;b#c\"d");
  absl::StatusOr<trustlink::ntl::ConfigDocument> again =
      trustlink::ntl::ConfigDocument::Parse(doc->Serialize(), "fuzz.conf");
  if (!again.ok() ||
      again->Get("Fuzz Section", "FuzzKey").value_or("") != "a;b#c\"d") {
    std::abort();
  }
  return 0;
}
