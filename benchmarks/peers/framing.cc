#include "benchmarks/peers/framing.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::peers {

namespace wire = ntl::wire;

void AppendEchoRequest(uint32_t id, absl::string_view data, std::string* out) {
  wire::Request r;
  r.partition = std::string(kEchoPartition);
  r.op = kEchoOp;
  r.data = std::string(data);
  wire::AppendFrame(wire::FrameType::kRequest, 0, id, wire::EncodeRequest(r),
                    out);
}

absl::Status AppendEchoResponse(const wire::FrameView& request,
                                std::string* out) {
  if (request.type != wire::FrameType::kRequest) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a request frame, got ", wire::FrameTypeName(request.type)));
  }
  absl::StatusOr<wire::Request> r = wire::DecodeRequest(request.payload);
  if (!r.ok()) {
    return r.status();
  }
  wire::Response resp;
  if (r->op == kEchoOp) {
    resp.data = std::move(r->data);
  } else {
    resp.status = TL_E_UNIMPLEMENTED;
    resp.data = absl::StrCat("op ", r->op, " is not served; only echo (1)");
  }
  wire::AppendFrame(wire::FrameType::kResponse, 0, request.id,
                    wire::EncodeResponse(resp), out);
  return absl::OkStatus();
}

char* FrameBuffer::Space(size_t n) {
  if (buf_.size() - end_ < n) {
    // Compact first; grow geometrically so a bulk frame costs O(1) amortised
    // allocations, not one per read.
    if (begin_ > 0) {
      memmove(&buf_[0], buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (buf_.size() - end_ < n) {
      buf_.resize(std::max(buf_.size() * 2, end_ + n));
    }
  }
  return &buf_[end_];
}

void FrameBuffer::Append(const char* data, size_t n) {
  memcpy(Space(n), data, n);
  Commit(n);
}

bool FrameBuffer::Next(wire::FrameView* frame, absl::Status* error) {
  wire::DecodeResult d = wire::DecodeFrame(
      absl::string_view(buf_.data() + begin_, end_ - begin_), kMaxPayload);
  switch (d.kind) {
    case wire::DecodeResult::Kind::kNeedMore:
      if (begin_ == end_) {
        begin_ = end_ = 0;
      }
      return false;
    case wire::DecodeResult::Kind::kError:
      *error = d.error;
      return false;
    case wire::DecodeResult::Kind::kFrame:
      *frame = d.frame;
      begin_ += d.consumed;
      return true;
  }
  return false;
}

int64_t EchoResponseLength(const wire::FrameView& frame, std::string* error) {
  if (frame.type != wire::FrameType::kResponse) {
    *error = absl::StrCat("expected a response frame, got ",
                          wire::FrameTypeName(frame.type));
    return -1;
  }
  absl::StatusOr<wire::Response> r = wire::DecodeResponse(frame.payload);
  if (!r.ok()) {
    *error = std::string(r.status().message());
    return -1;
  }
  if (r->status != 0) {
    *error =
        absl::StrCat("the peer answered status ", r->status, ": ", r->data);
    return -1;
  }
  return static_cast<int64_t>(r->data.size());
}

}  // namespace trustlink::peers
