#include "ntl/wire/frame.h"

#include "absl/strings/str_cat.h"
#include "ntl/status.h"
#include "ntl/wire/bytes.h"

namespace trustlink::ntl::wire {

const char* FrameTypeName(FrameType type) {
  switch (type) {
    case FrameType::kHello:
      return "hello";
    case FrameType::kWelcome:
      return "welcome";
    case FrameType::kRequest:
      return "request";
    case FrameType::kResponse:
      return "response";
    case FrameType::kPing:
      return "ping";
    case FrameType::kPong:
      return "pong";
    case FrameType::kStreamOpen:
      return "stream-open";
    case FrameType::kStreamData:
      return "stream-data";
    case FrameType::kStreamClose:
      return "stream-close";
    case FrameType::kGoAway:
      return "goaway";
    case FrameType::kSlotsChanged:
      return "slots-changed";
    case FrameType::kHtlProof:
      return "htl-proof";
  }
  return "unknown";
}

void AppendFrameHeader(FrameType type, uint8_t flags, uint32_t id,
                       uint32_t payload_len, std::string* out) {
  ByteWriter writer(out);
  writer.U8(static_cast<uint8_t>(type));
  writer.U8(flags);
  writer.U16(0);
  writer.U32(id);
  writer.U32(payload_len);
}

void AppendFrame(FrameType type, uint8_t flags, uint32_t id,
                 absl::string_view payload, std::string* out) {
  AppendFrameHeader(type, flags, id, static_cast<uint32_t>(payload.size()),
                    out);
  out->append(payload.data(), payload.size());
}

DecodeResult DecodeFrame(absl::string_view buffer, uint32_t max_payload) {
  DecodeResult result;
  if (buffer.size() < kFrameHeaderSize) {
    return result;
  }
  ByteReader reader(buffer.substr(0, kFrameHeaderSize));
  const uint8_t type = reader.U8();
  const uint8_t flags = reader.U8();
  const uint16_t reserved = reader.U16();
  const uint32_t id = reader.U32();
  const uint32_t length = reader.U32();
  if (type == 0 || type > kMaxFrameType) {
    result.kind = DecodeResult::Kind::kError;
    result.error = Error(absl::StatusCode::kInvalidArgument, TL_E_PROTOCOL,
                         absl::StrCat("unknown frame type ", type));
    return result;
  }
  if (reserved != 0) {
    result.kind = DecodeResult::Kind::kError;
    result.error = Error(absl::StatusCode::kInvalidArgument, TL_E_PROTOCOL,
                         "frame header has non-zero reserved bits");
    return result;
  }
  if (length > max_payload) {
    result.kind = DecodeResult::Kind::kError;
    result.error =
        Error(absl::StatusCode::kResourceExhausted, TL_E_PROTOCOL,
              absl::StrCat("frame of ", length, " bytes exceeds the limit of ",
                           max_payload, " bytes"));
    return result;
  }
  if (buffer.size() - kFrameHeaderSize < length) {
    return result;
  }
  result.kind = DecodeResult::Kind::kFrame;
  result.frame = FrameView{static_cast<FrameType>(type), flags, id,
                           buffer.substr(kFrameHeaderSize, length)};
  result.consumed = kFrameHeaderSize + length;
  return result;
}

}  // namespace trustlink::ntl::wire
