#ifndef TRUSTLINK_NTL_WIRE_MESSAGES_H_
#define TRUSTLINK_NTL_WIRE_MESSAGES_H_

// The payloads of the NTL frames (docs/wire.md). Each message has an Encode
// function that returns its bytes and a Decode function that refuses truncated
// input, over-long fields and trailing bytes with TL_E_PROTOCOL and a message
// naming the message and the field.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trustlink::ntl::wire {

// kProtocolVersion is carried in Hello; ALPN "ntl/1" already fixes the major
// version, so this only grows for compatible additions.
inline constexpr uint16_t kProtocolVersion = 1;
// Field limits: names are labels an admin typed, data fields are bounded by the
// frame.
inline constexpr size_t kMaxNameLen = 256;
inline constexpr size_t kMaxTextLen = 4096;
inline constexpr size_t kMaxSlots = 4096;

// Hello feature bits. kFeatureClientRequiresHtl: this client is configured to
// use HTL with this appliance (ServerHtlNN = 1), so an appliance that does not
// require HTL for it answers goaway TL_E_HTL_REQUIRED_BY_CLIENT.
inline constexpr uint32_t kFeatureClientRequiresHtl = 1u << 0;

// Hello is the client's first frame after the TLS handshake.
struct Hello {
  uint16_t version = kProtocolVersion;
  uint32_t features = 0;  // bit set; none defined yet
  std::string software;   // "trustlink/1.0.0", for the appliance log
};

// SlotInfo describes one partition the client may use.
struct SlotInfo {
  std::string partition;  // the partition's name, the key for requests
  std::string label;
  std::string serial;
};

// Welcome admits the client and lists its partitions. kSlotsChanged carries the
// same message when assignments change on a live connection.
struct Welcome {
  std::string client_label;  // how the appliance knows this client
  std::vector<SlotInfo> slots;
};

// Request is a call on a partition. `op` is chosen by the partition's handler;
// the built-in software partition's ops are in ntl/server (echo, random,
// sha256, hmac).
struct Request {
  std::string partition;
  uint32_t op = 0;
  std::string data;
};

// Response answers a Request. `status` is a tl_status; on failure `data` is the
// message.
struct Response {
  int32_t status = 0;
  std::string data;
};

// StreamOpen asks for a byte stream to `service` (e.g. "pkcs11") on a
// partition.
struct StreamOpen {
  std::string partition;
  std::string service;
};

// Closing carries a tl_status and a message; used by kStreamClose and kGoAway.
struct Closing {
  int32_t status = 0;
  std::string message;
};

std::string EncodeHello(const Hello& m);
absl::StatusOr<Hello> DecodeHello(absl::string_view payload);

std::string EncodeWelcome(const Welcome& m);
absl::StatusOr<Welcome> DecodeWelcome(absl::string_view payload);

std::string EncodeRequest(const Request& m);
// AppendRequestFrame appends a whole request frame (header and payload) to
// `out`, encoding straight into it; the bytes equal AppendFrame of
// EncodeRequest.
void AppendRequestFrame(uint32_t id, absl::string_view partition, uint32_t op,
                        absl::string_view data, std::string* out);
absl::StatusOr<Request> DecodeRequest(absl::string_view payload);
// RequestView is a decoded Request whose fields point into the payload, for
// the server, which hands `data` on without copying it.
struct RequestView {
  absl::string_view partition;
  uint32_t op = 0;
  absl::string_view data;
};
absl::StatusOr<RequestView> DecodeRequestView(absl::string_view payload);

std::string EncodeResponse(const Response& m);
// AppendResponseHead appends the header of a response frame for request `id`
// and the response payload up to its data, whose `data_len` bytes the caller
// appends next (so a large answer is copied once, into its final buffer).
void AppendResponseHead(uint32_t id, int32_t status, uint32_t data_len,
                        std::string* out);
absl::StatusOr<Response> DecodeResponse(absl::string_view payload);
// ResponseView is a decoded Response whose data points into the payload, for
// the client's C callbacks, which are handed the bytes without a copy into a
// string of their own.
struct ResponseView {
  int32_t status = 0;
  absl::string_view data;
};
absl::StatusOr<ResponseView> DecodeResponseView(absl::string_view payload);

std::string EncodeStreamOpen(const StreamOpen& m);
absl::StatusOr<StreamOpen> DecodeStreamOpen(absl::string_view payload);

std::string EncodeClosing(const Closing& m);
absl::StatusOr<Closing> DecodeClosing(absl::string_view payload);

}  // namespace trustlink::ntl::wire

#endif  // TRUSTLINK_NTL_WIRE_MESSAGES_H_
