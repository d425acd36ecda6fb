#ifndef TRUSTLINK_NTL_CLIENT_CONNECTION_H_
#define TRUSTLINK_NTL_CLIENT_CONNECTION_H_

// Connection: the link to one configured server. A state machine over a
// non-blocking socket and a BoringSSL client, pinned to the server's registered
// certificate:
//
//   backoff -> connecting -> handshaking -> (awaiting proof) -> awaiting
//      ^                                                          welcome
//      |                                                             |
//      +---- any failure (Fail) <---- ready <------------------------+
//
// "awaiting proof" is for servers marked HTL: the local agent is asked for the
// link proof off the loop (pending_proof.h), and hello goes out with it.
//
// It owns the request ids and stream ids of its link, the pending calls and
// their deadlines, the heartbeat and the reconnect backoff. It never calls user
// code directly: completions are appended to a list the Client runs after
// releasing its lock.

#include <openssl/ssl.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ntl/client/completions.h"
#include "ntl/client/deadline_queue.h"
#include "ntl/client/dial_gate.h"
#include "ntl/client/doorbell.h"
#include "ntl/client/htl_proof.h"
#include "ntl/client/pending_proof.h"
#include "ntl/client/reconnect_backoff.h"
#include "ntl/client/resolver.h"
#include "ntl/client/settings.h"
#include "ntl/client/tls_context.h"
#include "ntl/client/workers.h"
#include "ntl/internal/busy_poll.h"
#include "ntl/internal/byte_buffer.h"
#include "ntl/internal/dns.h"
#include "ntl/stats/client_stats.h"
#include "ntl/wire/frame.h"
#include "ntl/wire/messages.h"
#include "third_party/boringssl_guard.h"

namespace trustlink::ntl::client {

// CallCallback receives a call's response data or its failure.
using CallCallback = std::function<void(absl::StatusOr<std::string>)>;

// StreamCallbacks receive a byte stream's data and its end (OK for a clean
// close).
struct StreamCallbacks {
  std::function<void(absl::string_view)> on_data;
  std::function<void(const absl::Status&)> on_close;
};

// ReaderWait is what a calling thread that reads its own answer waits on
// (Connection::TakeReading): the link's socket, an eventfd that is written
// when the reader role is taken back, and the link's busy-poll (off unless
// ClientSettings::busy_poll_us). All belong to the Connection.
struct ReaderWait {
  int socket = -1;
  int kick = -1;
  internal::BusyPoll* spin = nullptr;
};

// kParkFor is how long a socket stays out of the loop's epoll set after a
// lone blocking call read its own answer (connection_caller_read.cc). Back to
// back round trips then skip the two epoll_ctl calls each; an idle link is
// watched by the loop again after this long, so a goaway or a closed socket
// on an idle link is noticed at most this much later.
inline constexpr absl::Duration kParkFor = absl::Milliseconds(20);

// LinkState is a server's connection state, as the C ABI reports it.
enum class LinkState {
  kNotTrusted = 0,  // not in the trust store: never contacted
  kBackoff =
      1,  // waiting to reconnect after a failure (or before the first attempt)
  kConnecting = 2,  // TCP connect in progress
  kHandshaking = 3,
  kAwaitingWelcome = 4,
  kReady = 5,
  kStopped = 6,  // failed and reconnect is off, or the client is closing
  // Internal to Connection: TLS is up and the HTL agent is being asked for the
  // link proof. state() reports it as kHandshaking, because the TL_LINK_*
  // values are ABI and, to the server, admission has not begun.
  kAwaitingProof = 7,
};

const char* LinkStateName(LinkState state);

// ConnectionListener hears about admission and loss; called with the Client's
// lock held.
class ConnectionListener {
 public:
  virtual ~ConnectionListener() = default;
  virtual void OnWelcome(size_t server, const wire::Welcome& welcome) = 0;
  virtual void OnLinkDown(size_t server) = 0;
  // OnAttemptSettled: the first connection attempt reached welcome or failed.
  virtual void OnFirstAttemptSettled(size_t server) = 0;
};

// Thread safety: not thread-safe. The owning Client calls every method with its
// mutex held.
class Connection : public PinnedPeer {
 public:
  // `dns`, `workers` and `gate` are the Client's, which outlive the
  // Connection.
  Connection(size_t index, const ServerSettings& server,
             const ClientSettings& settings, SSL_CTX* ctx, int epoll_fd,
             std::shared_ptr<Doorbell> doorbell, internal::DnsChannel* dns,
             Workers* workers, DialGate* gate, ConnectionListener* listener);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // OnEvent handles epoll `events` for this connection's socket.
  void OnEvent(uint32_t events, absl::Time now, Completions* done);
  // OnTimer runs due work: reconnect, connect timeout, heartbeat, call
  // deadlines.
  void OnTimer(absl::Time now, Completions* done);
  // NextWakeup is when OnTimer next has something to do.
  absl::Time NextWakeup() const;
  // FlushQueued writes the frames StartCall left for the loop (see SendCall).
  void FlushQueued(Completions* done);

  // StartCall sends a request. On success `*id` and `*token` identify it for
  // CancelCall. With `reader`, a blocking caller offers to read the answer
  // itself: when TakeReading allows it, the role is taken before the request
  // is written (so the loop never sees the answer) and `reader->socket` is
  // set; otherwise `*reader` is left as it was.
  absl::Status StartCall(absl::string_view partition, uint32_t op,
                         absl::string_view data, absl::Time deadline,
                         CallCallback cb, uint32_t* id, uint64_t* token,
                         Completions* done, ReaderWait* reader = nullptr);
  // StartRawCall is StartCall for the C ABI: `cb` gets the answer's bytes
  // without a string or a closure made for it, and the call is counted on
  // `stats` (ClientStats::CallStart/CallEnd) instead of through a wrapper.
  absl::Status StartRawCall(absl::string_view partition, uint32_t op,
                            absl::string_view data, absl::Time deadline,
                            const RawCallCallback& cb,
                            stats::ClientStats* stats, Completions* done);
  // CancelCall forgets a call (its callback is dropped); false if it already
  // completed.
  bool CancelCall(uint32_t id, uint64_t token);

  // The calling thread as the link's reader (connection_caller_read.cc). A
  // blocking call alone on an idle link waits on the socket itself and reads
  // its own answer, so the I/O thread is not woken to read it and then wake
  // the caller. Every use of the SSL object stays under the Client's mutex;
  // the role only decides which thread waits on the socket.
  //
  // TakeReading makes the caller of call `id` (`token`) the link's reader
  // when that is safe: the link is ready, nothing waits to be written, that
  // call is the only one in flight, no stream is open and no thread reads
  // already. The socket leaves the loop's epoll set (unless it is parked out
  // of it already) and `*wait` says what to poll. Returns false, changing
  // nothing, otherwise.
  bool TakeReading(uint32_t id, uint64_t token, ReaderWait* wait);
  // ReadForCaller is the reader's turn after its poll: it reads what the
  // socket holds when `readable`. True while the caller is still the reader;
  // false once it is not (its answer came, the link failed, or another call
  // or stream took the socket back for the loop). A reader that got its
  // answer parks the socket (kParkFor) rather than returning it to the
  // loop's epoll set at once.
  bool ReadForCaller(uint32_t id, uint64_t token, bool readable, absl::Time now,
                     Completions* done);
  // GiveBackReading returns the socket to the loop when `token`'s caller is
  // the reader (its deadline passed); otherwise does nothing.
  void GiveBackReading(uint64_t token);

  absl::StatusOr<uint32_t> OpenStream(absl::string_view partition,
                                      absl::string_view service,
                                      StreamCallbacks callbacks,
                                      Completions* done);
  absl::Status StreamSend(uint32_t stream, absl::string_view data,
                          Completions* done);
  absl::Status StreamClose(uint32_t stream, Completions* done);

  // Shutdown fails everything with `why` and stops for good.
  void Shutdown(const absl::Status& why, Completions* done);
  // CloseInForkedChild closes this process's copy of the socket only
  // (Client::CloseDescriptorsInForkedChild).
  void CloseInForkedChild();

  LinkState state() const {
    return state_ == LinkState::kAwaitingProof ? LinkState::kHandshaking
                                               : state_;
  }
  const absl::Status& last_error() const { return last_error_; }
  const std::vector<wire::SlotInfo>& slots() const { return slots_; }
  const std::string& client_label() const { return client_label_; }
  bool resumed() const { return resumed_; }
  uint64_t connects() const { return connects_; }
  absl::Time retry_at() const { return retry_at_; }
  // tls_writes counts SSL_write calls (each at least one TLS record and one
  // send) on this server's links, so tests can see writes being coalesced.
  uint64_t tls_writes() const { return tls_writes_; }
  // socket_reads counts recv calls on this server's links, so tests can see
  // that a wake-up costs one.
  uint64_t socket_reads() const { return socket_reads_; }
  size_t in_flight() const { return pending_.size(); }
  // caller_reads counts the answers read by their calling thread
  // (TakeReading) rather than by the I/O thread.
  uint64_t caller_reads() const { return caller_reads_; }
  // epoll_changes counts epoll_ctl calls for this server's sockets once
  // connected (the loop's interest, and the reader role taken and returned).
  uint64_t epoll_changes() const { return epoll_changes_; }
  // busy_poll is what the lone caller's spin before its sleep did.
  internal::BusyPollCounts busy_poll() const { return busy_poll_.counts(); }
  // link_stats are this server's handshakes and TLS bytes, all sessions.
  stats::LinkCounters link_stats() const {
    return link_stats_.WithLive(ssl_.get());
  }
  const ServerSettings& server() const { return server_; }
  int fd() const { return fd_; }

  // Called by the SSL callbacks installed on the client's SSL_CTX.
  void SetSession(SSL_SESSION* session) override { session_.reset(session); }
  bool CheckPin(const SSL* ssl) override;

 private:
  struct Pending {
    absl::Time deadline;
    uint64_t token = 0;
    CallCallback cb;  // or, for a C ABI call, these:
    RawCallCallback raw;
    stats::ClientStats* stats = nullptr;
    stats::ClientStats::CallStartTime start;
  };

  // StartPending checks, registers and sends a call (StartCall,
  // StartRawCall); `reader` as in StartCall.
  absl::Status StartPending(absl::string_view partition, uint32_t op,
                            absl::string_view data, Pending p, uint32_t* id,
                            uint64_t* token, Completions* done,
                            ReaderWait* reader);
  // FailCall queues `p`'s completion with the error `why`.
  void FailCall(Pending* p, const absl::Status& why, Completions* done);
  // ForgetDeadline drops an answered or cancelled call's deadline entry
  // (lazily: DeadlineQueue).
  void ForgetDeadline(absl::Time deadline);

  // Dialling (connection_dial.cc): resolve off the loop, then each address.
  void StartConnect(absl::Time now, Completions* done);
  void PollResolution(absl::Time now, Completions* done);
  void TryNextAddress(absl::Time now, Completions* done);
  void AddressFailed(const std::string& why, bool refused, absl::Time now,
                     Completions* done);
  void NoteFailure(const SocketAddress& address, const std::string& why,
                   bool refused);
  std::string TriedSummary() const;
  void OnConnected(absl::Time now, Completions* done);
  void DoHandshake(absl::Time now, Completions* done);
  // The HTL proof (connection_proof.cc): asked for after every handshake, off
  // the loop when library threads are allowed; hello goes out with it.
  void RequestProof(absl::Time now, Completions* done);
  void PollProof(absl::Time now, Completions* done);
  void SendHello(const std::string& proof, absl::Time now, Completions* done);
  // SendHelloWithoutProof sends hello when the agent gave no proof (`why`), so
  // that the appliance says whether HTL is required at all.
  void SendHelloWithoutProof(const absl::Status& why, absl::Time now,
                             Completions* done);
  // ExplainGoAway picks the error of a goaway (`code`, `remote`): the
  // appliance's, or why the agent had no proof when that is the cause.
  absl::Status ExplainGoAway(int32_t code, const absl::Status& remote) const;
  void ReadAvailable(absl::Time now, Completions* done);
  // DecodeBuffered handles every complete frame in in_; false after it failed
  // the link.
  bool DecodeBuffered(absl::Time now, Completions* done);
  // HandleFrame returns false after it failed the link.
  bool HandleFrame(const wire::FrameView& frame, absl::Time now,
                   Completions* done);
  // Send appends a frame and flushes at once.
  void Send(wire::FrameType type, uint32_t id, absl::string_view payload,
            Completions* done);
  // SendCall appends a request frame and flushes at once only when it is the
  // only call in flight; otherwise the frame waits for the loop (rung once per
  // batch), so a burst of calls leaves in a few TLS records.
  void SendCall(uint32_t id, absl::string_view partition, uint32_t op,
                absl::string_view data, Completions* done);
  void Flush(Completions* done);
  // SetInterest sets the loop's epoll interest; a caller reading the socket
  // (TakeReading) is told to stop first.
  void SetInterest(uint32_t events);
  // HandBackReading takes the reader role back for the loop, because the link
  // needs it (another call, a stream, a full socket, a closing link), and
  // wakes the reader; a parked socket goes back into the epoll set.
  void HandBackReading();
  // Unpark returns a parked socket to the loop's epoll set.
  void Unpark();
  void KickReader();
  // DrainKick clears the kick once the reader it stopped has seen it.
  void DrainKick();
  void Fail(const absl::Status& why, absl::Time now, Completions* done);
  void CloseSocket();
  void SettleFirstAttempt();

  const size_t index_;
  ServerSettings server_;
  const ClientSettings& settings_;
  SSL_CTX* const ctx_;
  const int epoll_fd_;
  const std::shared_ptr<Doorbell> doorbell_;
  internal::DnsChannel* const dns_;
  Workers* const workers_;
  // Paces this link's attempts with the client's others to the same address:
  // an attempt holds a slot from its start to welcome or failure.
  DialGate* const gate_;
  const std::string dial_key_;
  DialTicket dial_ticket_;
  ConnectionListener* const listener_;

  LinkState state_ = LinkState::kBackoff;
  absl::Status last_error_;
  int fd_ = -1;
  uint32_t interest_ = 0;
  bssl::UniquePtr<SSL> ssl_;
  bssl::UniquePtr<SSL_SESSION> session_;
  absl::Status pin_error_;  // set by the verify callback on a mismatch
  bool resumed_ = false;
  bool first_settled_ = false;
  uint64_t connects_ = 0;
  uint64_t tls_writes_ = 0;
  uint64_t socket_reads_ = 0;
  stats::LinkCounters link_stats_;  // of the sessions already closed

  // The current dial: a lookup in progress (kept across attempts while it
  // runs, so a hung resolver costs one thread, not one per attempt), the
  // addresses, the next to try, and what each failed attempt said.
  std::shared_ptr<PendingResolution> resolution_;
  bool resolving_ = false;
  std::vector<SocketAddress> addresses_;
  size_t next_address_ = 0;
  std::vector<std::string> tried_;
  std::string last_why_;
  bool any_refused_ = false;
  absl::Time address_deadline_ = absl::InfiniteFuture();
  ReconnectBackoff backoff_;
  absl::Time retry_at_ = absl::InfinitePast();
  absl::Time phase_deadline_ = absl::InfiniteFuture();
  // The proof request of this session (kAwaitingProof); dropped with the
  // socket, since a proof is bound to one session's exporter.
  std::shared_ptr<PendingProof> proof_;
  ProofRequest proof_request_;
  // Why this session's hello went without an HTL proof (OK when it had one).
  absl::Status missing_proof_;
  absl::Time proof_started_;
  absl::Time last_rx_;
  absl::Time last_ping_;

  // Plaintext received, decoded in place. Its storage stays for the life of
  // the socket, so a stream of large answers reuses warm pages.
  internal::ByteBuffer in_;
  std::string out_;
  size_t out_off_ = 0;

  std::vector<wire::SlotInfo> slots_;
  std::string client_label_;

  uint32_t next_id_ = 1;
  uint64_t next_token_ = 1;
  // Both keep their storage between calls: no allocation per call.
  absl::flat_hash_map<uint32_t, Pending> pending_;
  DeadlineQueue deadlines_;
  uint32_t next_stream_ = 1;
  std::map<uint32_t, StreamCallbacks> streams_;

  // The calling thread reading its own answer (TakeReading): whose call, the
  // eventfd that wakes it (made at the first use, kept for the Connection's
  // life), and whether a kick is unread. The eventfd is read only under the
  // Client's mutex, by the reader the kick stopped.
  bool reader_active_ = false;
  // Parked: the last reader got its answer and left the socket out of the
  // epoll set, so that the next lone blocking call takes it without two
  // epoll_ctl calls; the loop puts it back at parked_at_ + kParkFor, or at
  // once when anything else needs it (HandBackReading).
  bool parked_ = false;
  absl::Time parked_at_;
  uint32_t reader_id_ = 0;
  uint64_t reader_token_ = 0;
  int kick_fd_ = -1;
  bool kick_pending_ = false;
  uint64_t caller_reads_ = 0;
  uint64_t epoll_changes_ = 0;
  // The reader's spin: used by the reader role's holder outside the Client's
  // mutex (BusyPoll is safe for that), one holder at a time.
  internal::BusyPoll busy_poll_;
};

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_CONNECTION_H_
