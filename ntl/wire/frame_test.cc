#include "ntl/wire/frame.h"

#include <string>

#include "gtest/gtest.h"
#include "ntl/status.h"

namespace trustlink::ntl::wire {
namespace {

TEST(FrameTest, RoundTripsAFrame) {
  std::string buffer;
  AppendFrame(FrameType::kRequest, 0x5a, 0xdeadbeef, "payload", &buffer);
  ASSERT_EQ(buffer.size(), kFrameHeaderSize + 7);
  DecodeResult result = DecodeFrame(buffer, kDefaultMaxPayload);
  ASSERT_EQ(result.kind, DecodeResult::Kind::kFrame);
  EXPECT_EQ(result.frame.type, FrameType::kRequest);
  EXPECT_EQ(result.frame.flags, 0x5a);
  EXPECT_EQ(result.frame.id, 0xdeadbeefu);
  EXPECT_EQ(result.frame.payload, "payload");
  EXPECT_EQ(result.consumed, buffer.size());
}

TEST(FrameTest, HeaderIsBigEndian) {
  std::string buffer;
  AppendFrame(FrameType::kPing, 0, 0x01020304, "", &buffer);
  EXPECT_EQ(
      buffer,
      std::string("\x05\x00\x00\x00\x01\x02\x03\x04\x00\x00\x00\x00", 12));
}

TEST(FrameTest, NeedsMoreUntilEveryByteArrives) {
  std::string buffer;
  AppendFrame(FrameType::kResponse, 0, 7, "0123456789", &buffer);
  for (size_t cut = 0; cut < buffer.size(); ++cut) {
    DecodeResult result = DecodeFrame(absl::string_view(buffer).substr(0, cut),
                                      kDefaultMaxPayload);
    EXPECT_EQ(result.kind, DecodeResult::Kind::kNeedMore) << "cut at " << cut;
  }
}

TEST(FrameTest, DecodesBackToBackFramesOneAtATime) {
  std::string buffer;
  AppendFrame(FrameType::kPing, 0, 1, "a", &buffer);
  AppendFrame(FrameType::kPong, 0, 2, "bc", &buffer);
  absl::string_view rest = buffer;
  DecodeResult first = DecodeFrame(rest, kDefaultMaxPayload);
  ASSERT_EQ(first.kind, DecodeResult::Kind::kFrame);
  rest.remove_prefix(first.consumed);
  DecodeResult second = DecodeFrame(rest, kDefaultMaxPayload);
  ASSERT_EQ(second.kind, DecodeResult::Kind::kFrame);
  EXPECT_EQ(second.frame.type, FrameType::kPong);
  EXPECT_EQ(second.frame.payload, "bc");
}

TEST(FrameTest, OversizedLengthIsRefusedFromTheHeaderAlone) {
  std::string header("\x03\x00\x00\x00\x00\x00\x00\x01\x00\x10\x00\x01", 12);
  DecodeResult result = DecodeFrame(header, kDefaultMaxPayload);
  ASSERT_EQ(result.kind, DecodeResult::Kind::kError);
  EXPECT_EQ(ToTlStatus(result.error), TL_E_PROTOCOL);
  EXPECT_NE(result.error.message().find("exceeds the limit"),
            std::string::npos);
}

TEST(FrameTest, UnknownTypeAndReservedBitsAreProtocolErrors) {
  std::string unknown("\x63\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00", 12);
  EXPECT_EQ(DecodeFrame(unknown, kDefaultMaxPayload).kind,
            DecodeResult::Kind::kError);
  std::string zero_type(12, '\0');
  EXPECT_EQ(DecodeFrame(zero_type, kDefaultMaxPayload).kind,
            DecodeResult::Kind::kError);
  std::string reserved("\x03\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00", 12);
  DecodeResult result = DecodeFrame(reserved, kDefaultMaxPayload);
  ASSERT_EQ(result.kind, DecodeResult::Kind::kError);
  EXPECT_NE(result.error.message().find("reserved"), std::string::npos);
}

TEST(FrameTest, AppendFrameHeaderMatchesAppendFrame) {
  std::string whole, split;
  AppendFrame(FrameType::kResponse, 0, 42, "abc", &whole);
  AppendFrameHeader(FrameType::kResponse, 0, 42, 3, &split);
  split += "abc";
  EXPECT_EQ(whole, split);
}

}  // namespace
}  // namespace trustlink::ntl::wire
