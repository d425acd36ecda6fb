#include "ntl/wire/messages.h"

#include <string>

#include "gtest/gtest.h"
#include "ntl/status.h"
#include "ntl/wire/frame.h"

namespace trustlink::ntl::wire {
namespace {

TEST(MessagesTest, WelcomeRoundTrips) {
  Welcome welcome;
  welcome.client_label = "web1";
  welcome.slots = {{"partA", "Partition A", "1234"}, {"partB", "", "99"}};
  absl::StatusOr<Welcome> decoded = DecodeWelcome(EncodeWelcome(welcome));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->client_label, "web1");
  ASSERT_EQ(decoded->slots.size(), 2u);
  EXPECT_EQ(decoded->slots[0].label, "Partition A");
  EXPECT_EQ(decoded->slots[1].serial, "99");
}

TEST(MessagesTest, RequestResponseHelloStreamAndClosingRoundTrip) {
  absl::StatusOr<Request> request =
      DecodeRequest(EncodeRequest({"partA", 3, std::string("\0bin", 4)}));
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->op, 3u);
  EXPECT_EQ(request->data, std::string("\0bin", 4));

  absl::StatusOr<Response> response =
      DecodeResponse(EncodeResponse({-7, "why"}));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, -7);

  absl::StatusOr<Hello> hello =
      DecodeHello(EncodeHello({1, 5, "trustlink/1.0.0"}));
  ASSERT_TRUE(hello.ok());
  EXPECT_EQ(hello->features, 5u);

  absl::StatusOr<StreamOpen> open =
      DecodeStreamOpen(EncodeStreamOpen({"p", "pkcs11"}));
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->service, "pkcs11");

  absl::StatusOr<Closing> closing = DecodeClosing(EncodeClosing({205, "bye"}));
  ASSERT_TRUE(closing.ok());
  EXPECT_EQ(closing->message, "bye");
}

TEST(MessagesTest, TruncatedAndTrailingBytesAreRefused) {
  const std::string good = EncodeRequest({"partA", 1, "data"});
  for (size_t cut = 0; cut < good.size(); ++cut) {
    absl::StatusOr<Request> decoded = DecodeRequest(good.substr(0, cut));
    ASSERT_FALSE(decoded.ok()) << "cut at " << cut;
    EXPECT_EQ(ToTlStatus(decoded.status()), TL_E_PROTOCOL);
  }
  EXPECT_FALSE(DecodeRequest(good + "x").ok());
}

TEST(MessagesTest, OverlongNameIsRefused) {
  const std::string name(kMaxNameLen + 1, 'p');
  absl::StatusOr<StreamOpen> decoded =
      DecodeStreamOpen(EncodeStreamOpen({name, "s"}));
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("stream-open"), std::string::npos);
}

TEST(MessagesTest, HugeSlotCountIsRefusedBeforeAllocating) {
  std::string payload = EncodeWelcome({"c", {}});
  payload.replace(payload.size() - 4, 4, "\xff\xff\xff\xff");
  EXPECT_FALSE(DecodeWelcome(payload).ok());
}

TEST(MessagesTest, RequestViewBorrowsFromThePayload) {
  Request req;
  req.partition = "p1";
  req.op = 7;
  req.data = std::string(1000, 'd');
  const std::string payload = EncodeRequest(req);
  absl::StatusOr<RequestView> v = DecodeRequestView(payload);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->partition, "p1");
  EXPECT_EQ(v->op, 7u);
  EXPECT_EQ(v->data, req.data);
  EXPECT_GE(v->data.data(), payload.data());
  EXPECT_LE(v->data.data() + v->data.size(), payload.data() + payload.size());
  EXPECT_FALSE(DecodeRequestView(payload.substr(0, payload.size() - 1)).ok());
}

TEST(MessagesTest, DirectEncodersMatchTheMessageEncoders) {
  Request req;
  req.partition = "p1";
  req.op = 9;
  req.data = "payload";
  std::string expected, direct;
  AppendFrame(FrameType::kRequest, 0, 5, EncodeRequest(req), &expected);
  AppendRequestFrame(5, req.partition, req.op, req.data, &direct);
  EXPECT_EQ(direct, expected);

  Response resp;
  resp.status = -3;
  resp.data = "answer";
  expected.clear();
  direct.clear();
  AppendFrame(FrameType::kResponse, 0, 6, EncodeResponse(resp), &expected);
  AppendResponseHead(6, resp.status, 6, &direct);
  direct += resp.data;
  EXPECT_EQ(direct, expected);
}

}  // namespace
}  // namespace trustlink::ntl::wire
