#include "ntl/server/software_partition.h"

#include <string>

#include "gtest/gtest.h"
#include "trustlink/base.h"

namespace trustlink::ntl::server {
namespace {

class Capture : public Responder {
 public:
  Capture(int32_t* status, std::string* data) : status_(status), data_(data) {}
  void Respond(int32_t status, std::string data) override {
    *status_ = status;
    *data_ = std::move(data);
  }

 private:
  int32_t* status_;
  std::string* data_;
};

TEST(SoftwarePartitionTest, Ops) {
  SoftwarePartitionHandler h("master");
  int32_t st = -1;
  std::string out;
  const std::string p1 = "p1";
  CallContext ctx{"web1", "AA", p1, absl::MakeConstSpan(&p1, 1)};
  h.HandleRequest(ctx, kOpEcho, "abc", std::make_unique<Capture>(&st, &out));
  EXPECT_EQ(st, TL_OK);
  EXPECT_EQ(out, "abc");
  h.HandleRequest(ctx, kOpRandom, std::string("\0\0\1\0", 4),
                  std::make_unique<Capture>(&st, &out));
  EXPECT_EQ(out.size(), 256u);
  h.HandleRequest(ctx, kOpRandom, std::string("\0\2\0\1", 4),
                  std::make_unique<Capture>(&st, &out));
  EXPECT_EQ(st, TL_E_INVALID_ARGUMENT);
  h.HandleRequest(ctx, kOpHmacSha256, "m",
                  std::make_unique<Capture>(&st, &out));
  const std::string mac1 = out;
  SoftwarePartitionHandler again("master");
  again.HandleRequest(ctx, kOpHmacSha256, "m",
                      std::make_unique<Capture>(&st, &out));
  EXPECT_EQ(out, mac1);  // same master, same partition key
  EXPECT_NE(h.PartitionKey("p1"), h.PartitionKey("p2"));
  h.HandleRequest(ctx, 99, "", std::make_unique<Capture>(&st, &out));
  EXPECT_EQ(st, TL_E_UNIMPLEMENTED);
}

}  // namespace
}  // namespace trustlink::ntl::server
