#ifndef TRUSTLINK_NTL_WIRE_BYTES_H_
#define TRUSTLINK_NTL_WIRE_BYTES_H_

// ByteWriter and ByteReader: big-endian integers and length-prefixed strings,
// the only encodings the wire uses. The reader never throws and never reads out
// of bounds: after the first short read it is marked failed, returns zeros, and
// callers check ok() once at the end instead of after every field.

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace trustlink::ntl::wire {

// Thread safety: not thread-safe; one writer per buffer.
class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}

  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  // The wider integers go in one append each: the per-byte push_back this
  // replaced was a visible share of a pipelined call's client CPU.
  void U16(uint16_t v) { Big<2>(v); }
  void U32(uint32_t v) { Big<4>(v); }
  void U64(uint64_t v) { Big<8>(v); }
  void I32(int32_t v) { U32(static_cast<uint32_t>(v)); }
  // String writes a u32 length and the bytes.
  void String(absl::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_->append(s.data(), s.size());
  }

 private:
  template <int N>
  void Big(uint64_t v) {
    char b[N];
    for (int i = N - 1; i >= 0; --i) {
      b[i] = static_cast<char>(v & 0xff);
      v >>= 8;
    }
    out_->append(b, N);
  }

  std::string* const out_;
};

// Thread safety: not thread-safe; one reader per buffer.
class ByteReader {
 public:
  explicit ByteReader(absl::string_view in) : in_(in) {}

  uint8_t U8() {
    if (!Need(1)) {
      return 0;
    }
    const uint8_t v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return v;
  }
  uint16_t U16() {
    const uint16_t hi = U8();
    return static_cast<uint16_t>((hi << 8) | U8());
  }
  uint32_t U32() {
    const uint32_t hi = U16();
    return (hi << 16) | U16();
  }
  uint64_t U64() {
    const uint64_t hi = U32();
    return (hi << 32) | U32();
  }
  int32_t I32() { return static_cast<int32_t>(U32()); }
  // String reads a u32 length and that many bytes, refusing lengths over
  // `max_len`.
  absl::string_view String(size_t max_len) {
    const uint32_t len = U32();
    if (len > max_len || !Need(len)) {
      ok_ = false;
      return {};
    }
    absl::string_view s = in_.substr(0, len);
    in_.remove_prefix(len);
    return s;
  }

  // ok reports whether every read so far was in bounds.
  bool ok() const { return ok_; }
  // Done reports whether every read was in bounds and nothing is left over.
  bool Done() const { return ok_ && in_.empty(); }

 private:
  bool Need(size_t n) {
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return false;
    }
    return true;
  }

  absl::string_view in_;
  bool ok_ = true;
};

}  // namespace trustlink::ntl::wire

#endif  // TRUSTLINK_NTL_WIRE_BYTES_H_
