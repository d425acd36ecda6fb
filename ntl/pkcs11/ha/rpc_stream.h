#ifndef TRUSTLINK_NTL_PKCS11_HA_RPC_STREAM_H_
#define TRUSTLINK_NTL_PKCS11_HA_RPC_STREAM_H_

// RpcStream is a p11-kit RPC connection of our own to one member partition:
// it starts the member's bridge command (the `remote: |COMMAND` of its
// p11-kit module config, the way p11-kit does: no shell, our environment) and
// speaks p11-kit 0.24.1's framing on the command's stdin and stdout: one
// protocol-version byte each way, then per call a 12-byte header (reply code,
// options length, body length, big-endian) with the options (the module's
// name) and the body (rpc_message.h). The server answers with the same code.
//
// Every read has a deadline, and every length is checked against a limit
// before anything is allocated. Any failure (a timeout, the stream ending, a
// malformed frame) breaks the stream: later calls fail at once, and the error
// carries the last lines the bridge wrote to stderr (its own reason, such as
// "server '127.0.0.2' refused the connection").
//
// Thread safety: used by one thread at a time.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ntl/pkcs11/child.h"

namespace trustlink::ntl::pkcs11::ha {

// StderrTail keeps the last lines a command wrote to its stderr, for the
// message when its stream breaks. Thread safety: used by one thread at a time.
class StderrTail {
 public:
  // kKeep bytes of the tail are kept. kPerPass bounds one ReadPass: a command
  // that floods its stderr must not hold the reader in one pass past its
  // deadline. It is the default pipe capacity, so one pass still takes all a
  // command that has ended could leave behind.
  static constexpr size_t kKeep = 1024;
  static constexpr size_t kPerPass = 64 * 1024;

  enum class Pass {
    kDry,    // all there was has been read; the stream is open
    kMore,   // kPerPass bytes read and more may wait: read again later
    kEnded,  // the command closed its stderr
  };
  // ReadPass reads what the non-blocking `fd` holds now, at most kPerPass
  // bytes.
  Pass ReadPass(int fd);
  // Lines is the tail as "line; line", without a line cut by the kKeep
  // bound; empty when nothing was written.
  std::string Lines() const;

 private:
  std::string tail_;
  bool cut_ = false;  // bytes before tail_ were dropped
};

struct RpcStreamOptions {
  std::vector<std::string> argv;  // argv[0] an absolute path
  std::vector<std::string> env;   // "NAME=value"; empty: this process's
  std::string module_name;        // sent as the options of every call
  std::string peer;               // who answers, for messages ("hsm2/A")
  // The first answer waits for the bridge to open its link.
  absl::Duration start_timeout = absl::Seconds(20);
  absl::Duration call_timeout = absl::Seconds(10);
  size_t max_message = 1u << 20;
};

class RpcStream {
 public:
  static absl::StatusOr<std::unique_ptr<RpcStream>> Start(
      RpcStreamOptions options);
  // The destructor closes the command's stdin (its link stream ends) and
  // reaps it, killing it if it has not exited within 2 s.
  ~RpcStream();
  RpcStream(const RpcStream&) = delete;
  RpcStream& operator=(const RpcStream&) = delete;

  // Call sends one request body and returns the reply body.
  absl::StatusOr<std::string> Call(const std::string& body);
  // Send and Receive split a call, so requests can go ahead of their
  // answers (p11-kit's server answers in order): Receive returns the answer
  // to the oldest request not yet answered, waiting up to the call timeout.
  absl::Status Send(const std::string& body);
  absl::StatusOr<std::string> Receive();
  bool broken() const { return broken_; }
  // set_call_timeout shortens the wait of later calls (a stream being
  // closed after its member failed).
  void set_call_timeout(absl::Duration d) { options_.call_timeout = d; }
  const RpcStreamOptions& options() const { return options_; }

 private:
  explicit RpcStream(RpcStreamOptions options) : options_(std::move(options)) {}
  absl::Status WriteAll(const std::string& data, absl::Time deadline);
  absl::Status ReadExact(char* out, size_t n, absl::Time deadline,
                         const char* what);
  // ReadStderr reads one bounded pass of the command's stderr into
  // stderr_tail_.
  void ReadStderr();
  absl::Status Broken(absl::StatusCode code, int32_t tl,
                      const std::string& what);

  RpcStreamOptions options_;
  Child child_;
  StderrTail stderr_tail_;
  uint32_t next_code_ = 0x10;     // p11-kit's client starts here too
  std::deque<uint32_t> waiting_;  // codes of requests not yet answered
  bool broken_ = false;
};

}  // namespace trustlink::ntl::pkcs11::ha

#endif  // TRUSTLINK_NTL_PKCS11_HA_RPC_STREAM_H_
