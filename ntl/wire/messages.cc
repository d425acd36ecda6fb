#include "ntl/wire/messages.h"

#include "absl/strings/str_cat.h"
#include "ntl/status.h"
#include "ntl/wire/bytes.h"
#include "ntl/wire/frame.h"

namespace trustlink::ntl::wire {
namespace {

absl::Status Malformed(absl::string_view message_name) {
  return Error(
      absl::StatusCode::kInvalidArgument, TL_E_PROTOCOL,
      absl::StrCat("malformed ", message_name,
                   " message: truncated, a field too long, or trailing bytes"));
}

template <typename T>
absl::StatusOr<T> Finish(const ByteReader& reader, T message,
                         absl::string_view name) {
  if (!reader.Done()) {
    return Malformed(name);
  }
  return message;
}

}  // namespace

std::string EncodeHello(const Hello& m) {
  std::string out;
  ByteWriter w(&out);
  w.U16(m.version);
  w.U32(m.features);
  w.String(m.software);
  return out;
}

absl::StatusOr<Hello> DecodeHello(absl::string_view payload) {
  ByteReader r(payload);
  Hello m;
  m.version = r.U16();
  m.features = r.U32();
  m.software = std::string(r.String(kMaxNameLen));
  return Finish(r, std::move(m), "hello");
}

std::string EncodeWelcome(const Welcome& m) {
  std::string out;
  ByteWriter w(&out);
  w.String(m.client_label);
  w.U32(static_cast<uint32_t>(m.slots.size()));
  for (const SlotInfo& slot : m.slots) {
    w.String(slot.partition);
    w.String(slot.label);
    w.String(slot.serial);
  }
  return out;
}

absl::StatusOr<Welcome> DecodeWelcome(absl::string_view payload) {
  ByteReader r(payload);
  Welcome m;
  m.client_label = std::string(r.String(kMaxTextLen));
  const uint32_t count = r.U32();
  if (count > kMaxSlots) {
    return Malformed("welcome");
  }
  for (uint32_t i = 0; i < count && r.ok(); ++i) {
    SlotInfo slot;
    slot.partition = std::string(r.String(kMaxNameLen));
    slot.label = std::string(r.String(kMaxNameLen));
    slot.serial = std::string(r.String(kMaxNameLen));
    m.slots.push_back(std::move(slot));
  }
  return Finish(r, std::move(m), "welcome");
}

namespace {

void AppendRequestPayload(absl::string_view partition, uint32_t op,
                          absl::string_view data, std::string* out) {
  ByteWriter w(out);
  w.String(partition);
  w.U32(op);
  w.String(data);
}

}  // namespace

std::string EncodeRequest(const Request& m) {
  std::string out;
  AppendRequestPayload(m.partition, m.op, m.data, &out);
  return out;
}

void AppendRequestFrame(uint32_t id, absl::string_view partition, uint32_t op,
                        absl::string_view data, std::string* out) {
  AppendFrameHeader(
      FrameType::kRequest, 0, id,
      static_cast<uint32_t>(4 + partition.size() + 4 + 4 + data.size()), out);
  AppendRequestPayload(partition, op, data, out);
}

absl::StatusOr<RequestView> DecodeRequestView(absl::string_view payload) {
  ByteReader r(payload);
  RequestView m;
  m.partition = r.String(kMaxNameLen);
  m.op = r.U32();
  m.data = r.String(kDefaultMaxPayload);
  return Finish(r, m, "request");
}

absl::StatusOr<Request> DecodeRequest(absl::string_view payload) {
  absl::StatusOr<RequestView> v = DecodeRequestView(payload);
  if (!v.ok()) {
    return v.status();
  }
  Request m;
  m.partition = std::string(v->partition);
  m.op = v->op;
  m.data = std::string(v->data);
  return m;
}

std::string EncodeResponse(const Response& m) {
  std::string out;
  ByteWriter w(&out);
  w.I32(m.status);
  w.String(m.data);
  return out;
}

void AppendResponseHead(uint32_t id, int32_t status, uint32_t data_len,
                        std::string* out) {
  AppendFrameHeader(FrameType::kResponse, 0, id, 8 + data_len, out);
  ByteWriter w(out);
  w.I32(status);
  w.U32(data_len);  // the length prefix of ByteWriter::String
}

absl::StatusOr<ResponseView> DecodeResponseView(absl::string_view payload) {
  ByteReader r(payload);
  ResponseView m;
  m.status = r.I32();
  m.data = r.String(kDefaultMaxPayload);
  return Finish(r, m, "response");
}

absl::StatusOr<Response> DecodeResponse(absl::string_view payload) {
  absl::StatusOr<ResponseView> v = DecodeResponseView(payload);
  if (!v.ok()) {
    return v.status();
  }
  Response m;
  m.status = v->status;
  m.data = std::string(v->data);
  return m;
}

std::string EncodeStreamOpen(const StreamOpen& m) {
  std::string out;
  ByteWriter w(&out);
  w.String(m.partition);
  w.String(m.service);
  return out;
}

absl::StatusOr<StreamOpen> DecodeStreamOpen(absl::string_view payload) {
  ByteReader r(payload);
  StreamOpen m;
  m.partition = std::string(r.String(kMaxNameLen));
  m.service = std::string(r.String(kMaxNameLen));
  return Finish(r, std::move(m), "stream-open");
}

std::string EncodeClosing(const Closing& m) {
  std::string out;
  ByteWriter w(&out);
  w.I32(m.status);
  w.String(m.message);
  return out;
}

absl::StatusOr<Closing> DecodeClosing(absl::string_view payload) {
  ByteReader r(payload);
  Closing m;
  m.status = r.I32();
  m.message = std::string(r.String(kMaxTextLen));
  return Finish(r, std::move(m), "closing");
}

}  // namespace trustlink::ntl::wire
