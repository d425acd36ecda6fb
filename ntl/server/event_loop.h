#ifndef TRUSTLINK_NTL_SERVER_EVENT_LOOP_H_
#define TRUSTLINK_NTL_SERVER_EVENT_LOOP_H_

// One NTLS event loop: an epoll set, the connections it owns, and a mailbox
// through which other threads (asynchronous handlers, stream services) hand it
// work. Private to ntl/server; Server owns the loops. Loop's members are
// defined across event_loop.cc (the loop itself), conn_io.cc,
// frame_dispatch.cc, conn_close.cc, tick.cc, revalidate.cc and the files named
// at their declarations below (docs/server.md, "Code map").

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "ntl/internal/busy_poll.h"
#include "ntl/internal/byte_buffer.h"
#include "ntl/internal/mutex.h"
#include "ntl/server/admission.h"
#include "ntl/server/server.h"
#include "ntl/server/ticket_keys.h"
#include "ntl/stats/server_stats.h"
#include "ntl/wire/frame.h"

namespace trustlink::ntl::server::internal_engine {

// The epoll tags of the listener, the mailbox's eventfd and the tick's
// timerfd; connections are tagged with their ids, which start above all three.
inline constexpr uint64_t kListenTag = 0;
inline constexpr uint64_t kEventTag = 1;
inline constexpr uint64_t kTickTag = 2;

// The loop's buffer pool keeps at most this many spare buffers, each between
// these sizes (up to 16 MiB per loop at worst, a few hundred KiB usually).
inline constexpr size_t kPooledBuffers = 4;
inline constexpr size_t kPooledMinCapacity = 16 * 1024;
inline constexpr size_t kPooledMaxCapacity = 4 << 20;

// TlsContext is one server certificate's SSL_CTX and ticket ring.
// Thread safety: immutable after construction; shared by all loops.
struct TlsContext {
  std::unique_ptr<TicketKeys> tickets;  // declared first: outlives ctx
  bssl::UniquePtr<SSL_CTX> ctx;
  std::string fingerprint;
  absl::Time not_after;
};

// Mailbox carries tasks to a loop from any thread; after the loop ends, posts
// are dropped. Thread safety: safe to use from any thread.
class Mailbox {
 public:
  explicit Mailbox(int event_fd) : event_fd_(event_fd) {}
  bool Post(std::function<void()> task);
  std::vector<std::function<void()>> Take();
  void Close();

 private:
  internal::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  std::vector<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  const int event_fd_;
};

struct Conn;
class Loop;

// Accessors for the TLS callbacks in server.cc, which see a Conn only through
// the SSL.
Loop* LoopOf(const Conn* c);

// WelcomeFor encodes the welcome (and slots-changed) payload for `record`.
std::string WelcomeFor(const ClientRecord& record);
// The goaway messages of docs/htl.md's hello-bit table.
std::string HtlRequiredByApplianceMessage(absl::string_view label);
std::string HtlRequiredByClientMessage(absl::string_view label);

// Thread safety: a Loop's state is touched only by its own thread, except Post.
class Loop {
 public:
  Loop(Server* server, int index);
  ~Loop();
  // busy_poll is what this loop's spin did; safe from any thread.
  internal::BusyPollCounts busy_poll() const { return busy_poll_.counts(); }
  absl::Status Init(int listen_fd);
  void Start();
  void Join();
  void Wake();

  // Called through tasks on the loop thread.
  void CompleteRequest(uint64_t conn_id, uint32_t request_id, uint64_t seq,
                       int32_t status, absl::string_view data);
  // AnswerInline answers request `request_id` if it is the one whose
  // HandleRequest is running on this loop now (calls.cc); false otherwise.
  bool AnswerInline(uint64_t conn_id, uint32_t request_id, uint64_t seq,
                    int32_t status, absl::string_view data);
  // CountInlineAnswer notes a partition call that AnswerInline answered;
  // CountInlineAnswers, at the end of each wake-up, counts them in the
  // loop's shard with the time since the wake-up: one clock read for all.
  void CountInlineAnswer(int32_t status);
  void CountInlineAnswers();
  void StreamSend(uint64_t conn_id, uint32_t stream_id, uint64_t seq,
                  std::string data);
  void StreamServerClose(uint64_t conn_id, uint32_t stream_id, uint64_t seq,
                         int32_t status, std::string message);
  // HTL (htl_link.cc): the answer to an htl-proof check, and closing every
  // HTL link of a client whose HTL went Down.
  void CompleteHtlCheck(uint64_t conn_id, uint64_t seq, int32_t code,
                        std::string message);
  void CloseHtlClient(const std::string& label, const std::string& reason);
  // Evict closes a connection not yet admitted that the pre-authentication
  // pool gave up to make room for a newer one (`rule`: which cap was full).
  void Evict(uint64_t conn_id, const std::string& rule);

  std::shared_ptr<Mailbox> mailbox() const { return mailbox_; }
  // CloseDescriptorsInForkedChild: Server::CloseDescriptorsInForkedChild.
  void CloseDescriptorsInForkedChild();

  // Used by the TLS callbacks, on the loop thread. AdmitPeer admits the peer's
  // leaf certificate (DER; see LeafCertificateDer) and logs a refusal once; it
  // never waits for DNS (see AnswerFor).
  Admission AdmitPeer(Conn* c, absl::string_view leaf_der);
  // VerifyPeer is the verify callback's decision (hostname_admission.cc):
  // ssl_verify_retry while the registered hostname of the certificate's client
  // is being resolved, else AdmitPeer's answer.
  ssl_verify_result_t VerifyPeer(Conn* c, absl::string_view leaf_der,
                                 uint8_t* out_alert);
  // AdmitResumption is the ticket callback's check: admission with only what
  // is already known, so a ticket whose hostname answer is not cached is
  // refused (a full handshake follows, which may pause for the lookup).
  bool AdmitResumption(Conn* c, absl::string_view leaf_der);
  void Log(absl::string_view line) { server_->Log(line); }
  static Conn* ConnFromSsl(const SSL* ssl);
  // OnHandshakeStep is the TLS context's info callback (handshake.cc): it
  // protects a resumed connection in the pool at the step after BoringSSL
  // accepted its ticket, before the server's flight is written.
  static void OnHandshakeStep(const SSL* ssl, int type, int value);
  // snapshot returns the newest directory snapshot: admission never uses a
  // stale one.
  std::shared_ptr<const DirectorySnapshot> snapshot();
  // link_settings are the newest snapshot's link settings, else the server
  // options' (link_settings.cc).
  LinkSettings link_settings();

 private:
  void Run();
  void Accept();  // accept.cc
  // SetUpConn makes the connection for an accepted `fd` that the pool
  // admitted; false when it cannot (the caller closes the fd).
  bool SetUpConn(uint64_t id, int fd, const std::string& peer_ip,
                 const std::string& peer, uint64_t pool_ticket);
  // RefuseAtAccept tells a peer the pool had no room, in a TLS alert
  // (user_canceled: the handshake is cancelled for a reason that is not a
  // protocol failure), and closes it.
  // `busy`: the cap is full of connections waiting on the server (a burst),
  // rather than of proven registered clients.
  void RefuseAtAccept(int fd, const std::string& peer, const char* rule,
                      bool busy);
  // PauseAccept stops accepting after accept ran out of descriptors, until a
  // connection closes or ServerOptions::accept_pause has passed; with the
  // listener level-triggered, accepting on would spin.
  void PauseAccept(int error);
  // HoldAcceptForBurst stops accepting until a connection of this loop is
  // admitted or closed, or the next tick, after the pool refused a connection
  // (it had nothing to evict): the rest of the burst waits in the listen
  // queue instead of being refused.
  void HoldAcceptForBurst();
  void ResumeAccept();
  // Promote moves an admitted connection from the pool to its client's links,
  // or says goaway when the total or the client's cap is reached.
  bool Promote(Conn* c);
  // RefuseWithoutAlpn refuses a peer that negotiated no ALPN; docs/wire.md.
  bool RefuseWithoutAlpn(Conn* c, uint8_t* out_alert);
  void OnEvent(Conn* c, uint32_t events);
  void ReadAndDrive(Conn* c);
  void DriveSsl(Conn* c);
  // DrivePendingCipher drives the ciphertext kept while reading was paused,
  // and keeps what BoringSSL did not take (conn_io.cc).
  void DrivePendingCipher(Conn* c);
  void OnHandshakeDone(Conn* c);
  // ProtectIfResumed protects a connection in the pre-authentication pool as
  // soon as BoringSSL accepted its ticket (handshake.cc, OnHandshakeStep).
  void ProtectIfResumed(Conn* c);
  void ProcessFrames(Conn* c);
  void HandleFrame(Conn* c, const wire::FrameView& f);
  void HandleHello(Conn* c, const wire::FrameView& f);
  void Welcome(Conn* c);
  void RefuseHtl(Conn* c, int32_t code, absl::string_view message);
  // htl_link.cc
  void StartHtlLink(Conn* c);
  void HandleHtlFrame(Conn* c, const wire::FrameView& f);
  void HandleHtlRequest(Conn* c, const wire::FrameView& f);
  void AwaitHtlProof(Conn* c);
  void HandleHtlProof(Conn* c, const wire::FrameView& f);
  void ResumeReading(Conn* c);
  void HtlLinkClosed(Conn* c);
  // HtlStillAdmits applies the HTL rules to a live link after a registry
  // change; false when it said goaway.
  bool HtlStillAdmits(Conn* c);
  // hostname_admission.cc
  // AnswerFor returns the lookup answer `c` may use for `hostname`: the one it
  // already holds, else a fresh cached one (which it then keeps), else null.
  const Resolution* AnswerFor(Conn* c, const std::string& hostname);
  // KnownAnswer is AnswerFor the hostname of the client registered with
  // `fingerprint`, or null when its admission needs no lookup.
  const Resolution* KnownAnswer(Conn* c, const DirectorySnapshot& snap,
                                absl::string_view fingerprint);
  // StartLookup asks the resolver pool for `hostname` on behalf of `c`, with
  // the lookup deadline; false when the pool's queue is full.
  bool StartLookup(Conn* c, const std::string& hostname);
  void LookupDone(uint64_t conn_id, uint64_t seq, const std::string& hostname,
                  Resolution answer);
  void CheckLookupDeadline(Conn* c, absl::Time now);
  // ResumeHandshake drives a handshake that paused for a lookup, with the
  // ciphertext that arrived meanwhile.
  void ResumeHandshake(Conn* c);
  // NewResponder answers request `request_id`; with `timed`, the answer is
  // counted as a partition call on that shard (calls.cc).
  std::unique_ptr<Responder> NewResponder(
      uint64_t conn_id, uint32_t request_id, uint64_t seq,
      std::shared_ptr<stats::ServerShard> timed = nullptr);
  void HandleRequest(Conn* c, const wire::FrameView& f);
  // AcceptRequest decodes a request frame of either ALPN and refuses, with
  // goaway, a malformed one or an id already in flight; nullopt means refused.
  // The view borrows from the frame.
  absl::optional<wire::RequestView> AcceptRequest(Conn* c,
                                                  const wire::FrameView& f);
  // RespondNow answers request `id` at once, from the loop.
  void RespondNow(Conn* c, uint32_t id, int32_t status,
                  absl::string_view message);
  void HandleStreamOpen(Conn* c, const wire::FrameView& f);
  void SendFrame(Conn* c, wire::FrameType type, uint32_t id,
                 absl::string_view payload);
  // AppendOut adds encoded bytes to c->out, on pooled storage.
  void AppendOut(Conn* c, absl::string_view bytes);
  void Flush(Conn* c);
  // FlushSoon flushes now, or, while the loop runs its mailbox, once after the
  // last task, so a batch of answers leaves in one write.
  void FlushSoon(Conn* c);
  void GoAway(Conn* c, int32_t status, absl::string_view message);
  void CloseConn(Conn* c, absl::string_view reason);
  void UpdateEvents(Conn* c);
  void Tick(absl::Time now);
  // ArmTick starts tick_fd_, every ServerOptions::tick, in the epoll set.
  absl::Status ArmTick();
  // WakeTime is wake_ on the wall clock, from the last tick's pair of
  // readings, so a wake-up reads one clock.
  absl::Time WakeTime() const {
    return tick_time_ + absl::FromChrono(wake_ - tick_steady_);
  }
  void Revalidate(Conn* c);
  void MaybeFinishDrain(Conn* c);
  void Reap();
  Conn* Find(uint64_t id);

  Server* const server_;
  const int index_;
  int epoll_fd_ = -1;
  int event_fd_ = -1;
  // tick_fd_ fires every tick (a periodic timerfd, armed once), so epoll_wait
  // needs no timeout: a timed wait starts and cancels a kernel timer on every
  // wake-up, and in a VM programming the timer device can exit to the host.
  int tick_fd_ = -1;
  int listen_fd_ = -1;
  bool listening_ = false;
  bool accept_paused_ = false;
  absl::Time accept_resume_at_;
  std::shared_ptr<Mailbox> mailbox_;
  std::thread thread_;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::vector<uint64_t> dead_;
  uint64_t next_id_ = kTickTag;
  uint64_t next_seq_ = 1;
  std::shared_ptr<const DirectorySnapshot> snapshot_;
  ValidityCache validity_;             // admission's parsed certificate dates
  uint64_t directory_generation_ = 0;  // of snapshot_
  uint64_t revalidated_generation_ =
      0;  // live connections were checked against this
  uint64_t tls_generation_ = 0;
  bool drain_started_ = false;
  // The clock, read once per wake-up (wake_): it starts the calls' timers
  // and dates the connections' activity (WakeTime). The wall clock is read
  // once per tick.
  std::chrono::steady_clock::time_point wake_;
  // The spin before a wait that follows traffic (ServerOptions::busy_poll_us).
  internal::BusyPoll busy_poll_;
  std::chrono::steady_clock::time_point tick_steady_;
  absl::Time tick_time_;
  std::vector<char> scratch_;
  // The request whose HandleRequest is running, which may be answered
  // without entering its connection's pending table (calls.cc).
  struct InlineRequest {
    uint64_t conn_id = 0;
    uint32_t request_id = 0;
    uint64_t seq = 0;
    bool open = false;
    bool answered = false;
  };
  InlineRequest inline_;
  uint64_t inline_answers_ = 0;  // since the wake-up (CountInlineAnswer)
  uint64_t inline_failures_ = 0;
  std::string head_scratch_;  // RespondNow's response head
  bool flushing_later_ = false;
  std::vector<uint64_t> flush_later_;  // connection ids, each at most once
  // Spare storage for the connections' plaintext buffers: a few per loop, so
  // a stream of large calls reuses warm pages (0 page faults per call) while
  // idle connections hold none.
  internal::BufferPool pool_{kPooledBuffers, kPooledMinCapacity,
                             kPooledMaxCapacity};
};

// LeafCertificateDer returns the DER of the first certificate in `chain`, or ""
// when there is none. The view lives as long as the chain.
absl::string_view LeafCertificateDer(const STACK_OF(CRYPTO_BUFFER) * chain);

}  // namespace trustlink::ntl::server::internal_engine

#endif  // TRUSTLINK_NTL_SERVER_EVENT_LOOP_H_
