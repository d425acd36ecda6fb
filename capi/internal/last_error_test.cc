#include "capi/internal/last_error.h"

#include <new>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace trustlink::capi::internal {
namespace {

TEST(LastErrorTest, KeepsTheMessageAndReturnsThePreciseCode) {
  Handle handle;
  tl_status code = Guard(&handle.last_error, [] {
    return ntl::Error(absl::StatusCode::kFailedPrecondition, TL_E_CERT_EXPIRED,
                      "server cert 'hsm1' expired; ask the appliance admin");
  });
  EXPECT_EQ(code, TL_E_CERT_EXPIRED);
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  ASSERT_EQ(CopyLastError(&handle, buf, sizeof(buf), &len), TL_OK);
  EXPECT_EQ(std::string(buf, len),
            "server cert 'hsm1' expired; ask the appliance admin");
}

TEST(LastErrorTest, SuccessClearsTheMessage) {
  Handle handle;
  Guard(&handle.last_error, [] { return absl::NotFoundError("gone"); });
  EXPECT_EQ(Guard(&handle.last_error, [] { return absl::OkStatus(); }), TL_OK);
  char buf[8];
  size_t len = 99;
  ASSERT_EQ(CopyLastError(&handle, buf, sizeof(buf), &len), TL_OK);
  EXPECT_EQ(len, 0u);
  EXPECT_STREQ(buf, "");
}

TEST(LastErrorTest, SmallBufferIsRefusedWithTheSizeNeeded) {
  Handle handle;
  Guard(&handle.last_error, [] { return absl::NotFoundError("0123456789"); });
  char buf[10] = "unchanged";
  size_t len = 42;
  EXPECT_EQ(CopyLastError(&handle, buf, sizeof(buf), &len),
            TL_E_BUFFER_TOO_SMALL);
  EXPECT_STREQ(buf, "unchanged");
  EXPECT_EQ(len, 11u);
  len = 0;
  EXPECT_EQ(CopyLastError(&handle, nullptr, 0, &len), TL_E_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, 11u);
}

TEST(LastErrorTest, FailuresAreAlsoTheThreadsLastError) {
  Handle handle;
  Guard(&handle.last_error, [] { return absl::NotFoundError("mine"); });
  // A success clears the handle's message but not the thread's.
  Guard(&handle.last_error, [] { return absl::OkStatus(); });
  char buf[16];
  size_t len = 0;
  ASSERT_EQ(CopyThreadError(buf, sizeof(buf), &len), TL_OK);
  EXPECT_EQ(std::string(buf, len), "mine");
  EXPECT_EQ(ThreadErrorStatus(), TL_E_NOT_FOUND);
  EXPECT_EQ(ArgumentError(&handle.last_error, "tl_x_do", "out is NULL"),
            TL_E_INVALID_ARGUMENT);
  ASSERT_EQ(CopyThreadError(buf, sizeof(buf), &len), TL_E_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, sizeof("tl_x_do: out is NULL"));
  ASSERT_EQ(CopyLastError(&handle, buf, sizeof(buf), &len),
            TL_E_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, sizeof("tl_x_do: out is NULL"));
}

TEST(LastErrorTest, LongMessagesAreCutAtACharacterBoundary) {
  Handle handle;
  // 1022 ASCII bytes then a two-byte character straddling the 1023-byte limit.
  std::string message(TL_ERROR_MESSAGE_MAX - 2, 'a');
  message += "\xC3\xA9tail";
  Guard(&handle.last_error, [&] { return absl::InternalError(message); });
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  ASSERT_EQ(CopyLastError(&handle, buf, sizeof(buf), &len), TL_OK);
  EXPECT_EQ(len, static_cast<size_t>(TL_ERROR_MESSAGE_MAX - 2));
}

TEST(LastErrorTest, BadAllocBecomesNoMemory) {
  Handle handle;
  EXPECT_EQ(Guard(&handle.last_error,
                  []() -> absl::Status { throw std::bad_alloc(); }),
            TL_E_NO_MEMORY);
}

TEST(LastErrorTest, NullHandleIsAnInvalidArgument) {
  char buf[16];
  size_t len;
  EXPECT_EQ(CopyLastError(nullptr, buf, sizeof(buf), &len),
            TL_E_INVALID_ARGUMENT);
}

// ThreadMessage is the calling thread's last error message.
std::string ThreadMessage() {
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  EXPECT_EQ(CopyThreadError(buf, sizeof(buf), &len), TL_OK);
  return std::string(buf, len);
}

TEST(StringAtTest, BorrowsTheItemAndNamesTheFunctionOnBadArguments) {
  const std::vector<std::string> items = {"first", "second"};
  const char* out = "unchanged";
  ASSERT_EQ(StringAt("tl_x_get", &items, "tl_x", "string", 1, &out), TL_OK);
  EXPECT_EQ(out, items[1].c_str());

  out = "unchanged";
  EXPECT_EQ(StringAt("tl_x_get", nullptr, "tl_x", "string", 0, &out),
            TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(ThreadMessage(), "tl_x_get: the tl_x handle is NULL");
  EXPECT_EQ(StringAt("tl_x_get", &items, "tl_x", "string", 0, nullptr),
            TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(ThreadMessage(), "tl_x_get: out is NULL");
  EXPECT_EQ(StringAt("tl_x_get", &items, "tl_x", "string", 7, &out),
            TL_E_OUT_OF_RANGE);
  EXPECT_EQ(ThreadMessage(),
            "tl_x_get: index 7 is out of range: the tl_x has 2 strings");
  EXPECT_STREQ(out, "unchanged");
}

TEST(OutOfRangeTest, NamesTheIndexAndTheCount) {
  EXPECT_EQ(OutOfRangeMessage("index", 7, "the tl_server_status", 3, "client"),
            "index 7 is out of range: the tl_server_status has 3 clients");
  EXPECT_EQ(OutOfRangeMessage("member index", 2, "HA group 'g'", 1, "member"),
            "member index 2 is out of range: HA group 'g' has 1 member");
  EXPECT_EQ(OutOfRangeMessage("index", 0, "the tl_log_event", 0, "address"),
            "index 0 is out of range: the tl_log_event has 0 addresses");

  EXPECT_EQ(IndexOutOfRange("tl_x_get", "index", 7, "the tl_x", 3, "client"),
            TL_E_OUT_OF_RANGE);
  EXPECT_EQ(ThreadMessage(),
            "tl_x_get: index 7 is out of range: the tl_x has 3 clients");
  EXPECT_EQ(IndexOutOfRange("tl_x_get", "index", 7, "the tl_x", 3, "client",
                            TL_E_INVALID_ARGUMENT),
            TL_E_INVALID_ARGUMENT);

  absl::Status s =
      OutOfRangeError("server index", 4, "the client", 2, "server");
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ntl::ToTlStatus(s), TL_E_OUT_OF_RANGE);
  EXPECT_EQ(s.message(),
            "server index 4 is out of range: the client has 2 servers");
}

TEST(NullArgumentTest, IsInvalidArgumentNamingTheParameter) {
  absl::Status s = NullArgument("client_root");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ntl::ToTlStatus(s), TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(s.message(), "client_root is NULL");
}

TEST(NewHandleTest, WritesOutOnlyOnSuccessAndNamesTheFunction) {
  EXPECT_EQ(NewHandle<Handle>("tl_x_new", nullptr), TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(ThreadMessage(), "tl_x_new: out is NULL");
  Handle* handle = nullptr;
  ASSERT_EQ(NewHandle("tl_x_new", &handle), TL_OK);
  ASSERT_NE(handle, nullptr);
  delete handle;
}

// Unallocatable is a handle whose allocation always fails.
struct Unallocatable : Handle {
  static void* operator new(std::size_t, const std::nothrow_t&) noexcept {
    return nullptr;
  }
  static void operator delete(void*) noexcept {}
};

TEST(NewHandleTest, AFailedAllocationLeavesNoOlderMessage) {
  NewHandle<Handle>("tl_x_new", nullptr);  // leaves "out is NULL"
  Unallocatable* handle = nullptr;
  EXPECT_EQ(NewHandle("tl_y_new", &handle), TL_E_NO_MEMORY);
  EXPECT_EQ(handle, nullptr);
  EXPECT_EQ(ThreadMessage(), "out of memory");
}

}  // namespace
}  // namespace trustlink::capi::internal
