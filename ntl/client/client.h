#ifndef TRUSTLINK_NTL_CLIENT_CLIENT_H_
#define TRUSTLINK_NTL_CLIENT_CLIENT_H_

// Client: the NTLA. One multiplexed, pinned TLS link per configured server; the
// slot list aggregated across them with stable numbering; blocking and
// asynchronous calls pipelined on the links; byte streams for the PKCS#11
// bridge.
//
// I/O runs on one event loop (epoll + a timerfd + an eventfd). By default a
// library thread drives it. With ClientSettings::use_io_thread = false no
// thread is created: the embedder waits until fd() is readable and calls
// Process() (a blocking Call() drives the loop itself while it waits). With
// the library thread, a blocking Call() alone on an idle link reads its own
// answer instead (Connection::TakeReading), so a round trip wakes only the
// caller.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ntl/client/connection.h"
#include "ntl/client/doorbell.h"
#include "ntl/client/ha_group.h"
#include "ntl/client/settings.h"
#include "ntl/client/workers.h"
#include "ntl/internal/busy_poll.h"
#include "ntl/internal/dns.h"
#include "ntl/internal/mutex.h"
#include "ntl/stats/client_stats.h"

namespace trustlink::ntl::client {

enum class SlotState {
  kReady = 0,       // the partition is assigned and its server is connected
  kServerDown = 1,  // its server is not connected right now (calls fail fast)
  kRemoved = 2,     // the server no longer lists this partition for this client
};

const char* SlotStateName(SlotState state);

// Slot is one partition visible to this client. `id` never changes for the life
// of the Client: new partitions get new ids, and a slot whose server goes away
// keeps its id. With a client root (ClientSettings::slot_numbers_dir) the ids
// are also kept across processes while the partition stays assigned
// (slot_numbers.h), so ids may have gaps.
struct Slot {
  int id = 0;
  std::string server;
  std::string partition;
  std::string label;
  std::string serial;
  SlotState state = SlotState::kServerDown;
  // ha_group is the group's label for an HA group's virtual slot (server and
  // partition are then empty), "" for a partition's own slot.
  std::string ha_group;
};

// ServerStatus is one configured server's link, for status displays and verify.
struct ServerStatus {
  std::string name;
  std::string host;
  uint16_t port = 0;
  LinkState state = LinkState::kBackoff;
  absl::Status last_error;  // why it is not ready (OK when ready)
  bool welcomed = false;  // a welcome arrived on the current or an earlier link
  bool resumed = false;   // the current link's TLS session was resumed
  uint64_t connects = 0;  // TCP connections made so far
  // In kBackoff, when the next attempt starts (ntl/client/reconnect_backoff.h).
  absl::Time retry_at = absl::InfinitePast();
  uint64_t tls_writes = 0;    // SSL_write calls on its links so far
  uint64_t socket_reads = 0;  // recv calls on its links so far
  // Answers read by the blocking call's own thread, not the I/O thread
  // (Connection::TakeReading).
  uint64_t caller_reads = 0;
  // epoll_changes counts the epoll_ctl calls for its links' sockets: a lone
  // blocking call that finds its link parked makes none.
  uint64_t epoll_changes = 0;
  // busy_poll: what lone blocking calls' spins before their sleeps did
  // (ClientSettings::busy_poll_us); all zero while it is off.
  internal::BusyPollCounts busy_poll;
  std::string client_label;
  std::vector<wire::SlotInfo> slots;  // the partitions the server last listed
};

// Thread safety: all methods are safe to call from any thread, except that
// callbacks must not call the destructor. Callbacks run on the I/O thread (or
// the thread calling Process()) with no library lock held; they must not block
// for long.
class Client : private ConnectionListener {
 public:
  static absl::StatusOr<std::unique_ptr<Client>> Create(
      ClientSettings settings);
  ~Client() override;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // WaitReady waits until the first connection attempt to every server has
  // settled (or `deadline`), which fixes the initial slot numbering in config
  // order. Without an I/O thread it drives Process() itself. Returns
  // DEADLINE_EXCEEDED if time ran out.
  absl::Status WaitReady(absl::Time deadline);

  std::vector<Slot> Slots();
  std::vector<ServerStatus> Servers();
  // TimerArms counts timerfd_settime calls, so tests can see that the timer is
  // re-armed only when a deadline moves earlier.
  uint64_t TimerArms();
  // DoorbellRings counts the eventfd writes that woke the loop, so tests can
  // see that callbacks queuing calls on the loop's own thread ring none.
  uint64_t DoorbellRings() const { return doorbell_->rings(); }

  // Call makes a request on `slot` and waits for the response until `deadline`.
  // Fails fast with TL_E_UNAVAILABLE when the slot's server is not connected,
  // and with TL_E_CONNECTION_LOST when the link drops while the call is in
  // flight.
  absl::StatusOr<std::string> Call(int slot, uint32_t op,
                                   absl::string_view data, absl::Time deadline);
  // CallAsync sends the request and returns; `cb` runs exactly once with the
  // outcome (also at the deadline, and at ~Client with TL_E_CANCELLED). On a
  // non-OK return `cb` is not called.
  absl::Status CallAsync(int slot, uint32_t op, absl::string_view data,
                         absl::Time deadline, CallCallback cb);
  // CallAsyncRaw is CallAsync for the C ABI: `cb` gets the bytes (or the
  // error's tl_status and message), borrowed for the call, and in steady state
  // the call allocates nothing on the client (docs/client.md, "Pipelined
  // calls").
  absl::Status CallAsyncRaw(int slot, uint32_t op, absl::string_view data,
                            absl::Time deadline, const RawCallCallback& cb);

  // HaStatus reports the HA groups (docs/ha.md) in ClientSettings::ha_groups
  // order: virtual slot, state and members.
  std::vector<HaGroupStatus> HaStatus();

  // Streams: a byte stream to `service` on the slot's partition. The handle is
  // valid until on_close runs or StreamClose is called.
  absl::StatusOr<uint64_t> StreamOpen(int slot, absl::string_view service,
                                      StreamCallbacks callbacks);
  // ServerStreamOpen opens a client-wide stream to `service` on server number
  // `server` (configuration order): it covers every partition assigned to this
  // client there, and the server closes it when any of them is unassigned.
  absl::StatusOr<uint64_t> ServerStreamOpen(size_t server,
                                            absl::string_view service,
                                            StreamCallbacks callbacks);
  absl::Status StreamSend(uint64_t stream, absl::string_view data);
  absl::Status StreamClose(uint64_t stream);

  // Stats returns the client's counters since it was made (docs/client.md,
  // "Counters"); client_stats.cc.
  stats::StatList Stats();

  // fd is readable whenever Process() has work (socket I/O or a timer).
  int fd() const { return epoll_fd_; }
  // Process waits up to `timeout` for work and does it, then runs completions.
  absl::Status Process(absl::Duration timeout);

  // CloseDescriptorsInForkedChild closes a fork() child's copies of every
  // descriptor this Client holds, and nothing else: no epoll_ctl, no
  // shutdown(2), no TLS close_notify, no lock, so the parent's links carry on
  // (forked_child.cc). The Client must not be used or destroyed afterwards.
  void CloseDescriptorsInForkedChild();

 private:
  struct SlotEntry {
    size_t server;
    wire::SlotInfo info;
    bool listed;
  };
  // Waiter is what a blocking Call sleeps on.
  // HaCall is a call on an HA group's slot across its attempts (client_ha.cc).
  struct HaCall;
  struct Waiter {
    internal::Mutex mu;
    internal::CondVar cv;
    bool done ABSL_GUARDED_BY(mu) = false;
    absl::StatusOr<std::string> result ABSL_GUARDED_BY(mu);
  };

  explicit Client(ClientSettings settings);
  absl::Status Init();
  void Loop();
  void Wake();
  // WatchDnsSocket keeps a c-ares socket in the epoll set (DnsChannel's
  // SocketWatch).
  void WatchDnsSocket(int fd, bool readable, bool writable);
  void ProcessLocked(absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(process_mu_);
  void RearmTimerLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishInitialLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // ListsWhatWasNumberedLocked: each of `servers` lists exactly the
  // partitions it listed before (`listed_before[server]` of them), so their
  // numbers stand and slots.conf would not change.
  bool ListsWhatWasNumberedLocked(const std::vector<size_t>& servers,
                                  const std::vector<size_t>& listed_before)
      const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OnStreamLink runs op(link, stream id on it, done) under mu_ on the link
  // that carries `stream`, then the completions it queued, unlocked.
  template <typename Op>
  absl::Status OnStreamLink(uint64_t stream, Op op);
  // AssignSlotsLocked numbers the slots the `servers` now list (their last
  // welcome or slots-changed), all in one slots.conf update.
  void AssignSlotsLocked(const std::vector<size_t>& servers)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // NumberWelcomedLocked numbers the slots of the servers welcomed since it
  // last ran (OnWelcome only notes them), then refreshes the HA groups. Every
  // section of mu_ that can read frames calls it before it unlocks, so no
  // one sees a welcomed server without its slots, and links that came up in
  // one pass cost one slots.conf update (one per link, with two fsyncs each,
  // was most of a 1,000-link ramp-up).
  void NumberWelcomedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // StartCallLocked starts a call; on a group's slot `*ha_call` is set and
  // names it for CancelHaCallLocked, else server, id and token do. `reader`
  // as in Connection::StartCall (not used on a group's slot).
  absl::Status StartCallLocked(int slot, uint32_t op, absl::string_view data,
                               absl::Time deadline, CallCallback cb,
                               size_t* server, uint32_t* id, uint64_t* token,
                               std::shared_ptr<HaCall>* ha_call,
                               Completions* done, ReaderWait* reader = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // ReadOwnAnswer is a blocking call's wait while its thread holds the reader
  // role of the call's link (Connection::TakeReading): it polls the socket and
  // reads until its answer is in, the role is taken back, or `deadline`.
  void ReadOwnAnswer(size_t server, uint32_t id, uint64_t token,
                     ReaderWait wait, absl::Time deadline)
      ABSL_LOCKS_EXCLUDED(mu_);
  // HA groups (client_ha.cc).
  absl::Status StartHaCallLocked(size_t group, uint32_t op,
                                 absl::string_view data, absl::Time deadline,
                                 CallCallback cb,
                                 std::shared_ptr<HaCall>* ha_call,
                                 Completions* done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // HaAttemptLocked sends the call to the next member that takes it.
  absl::Status HaAttemptLocked(const std::shared_ptr<HaCall>& call,
                               Completions* done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnHaAttemptDone(const std::shared_ptr<HaCall>& call, size_t member,
                       absl::StatusOr<std::string> result);
  void CancelHaCallLocked(HaCall* call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // RefreshHaLocked re-reads every member's link and listing and queues the
  // group events.
  void RefreshHaLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  MemberView HaLookupLocked(const HaMemberSettings& member)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // NumberHaSlotsLocked gives each group its virtual slot, after the members'
  // initial numbering (slots.conf keeps it under the server kHaSlotServer).
  void NumberHaSlotsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool IsHaSlotLocked(int slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // HaMemberRefusalLocked is the error for a call on a member's own slot under
  // HAOnly, OK when the slot may be used.
  absl::Status HaMemberRefusalLocked(int slot, const SlotEntry& e)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AppendHaSlotsLocked(std::vector<Slot>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Connection*> ConnectionForSlotLocked(int slot,
                                                      std::string* partition)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // RunCompletions runs `done` without a lock held, then writes what its
  // callbacks queued (Doorbell::DeferScope); by the thread holding
  // process_mu_.
  void RunCompletions(Completions* done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(process_mu_);
  // DeliverLinkEvents hands the queued LinkEvents to on_link_event; called
  // without mu_, by whoever holds process_mu_, so events arrive in order.
  void DeliverLinkEvents();
  void PushLinkEventLocked(LinkEvent::Kind kind, size_t server,
                           absl::Status status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void QueueLinkEventLocked(LinkEvent event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // ConnectionListener, called with mu_ held.
  void OnWelcome(size_t server, const wire::Welcome& welcome) override;
  void OnLinkDown(size_t server) override;
  void OnFirstAttemptSettled(size_t server) override;

  const ClientSettings settings_;
  // Declared early so it outlives the connections, whose last callbacks
  // (run at destruction) still count.
  stats::ClientStats stats_;
  bssl::UniquePtr<SSL_CTX> ctx_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int timer_fd_ = -1;
  // doorbell_ rings wake_fd_; shared with name lookups that may outlive us.
  std::shared_ptr<Doorbell> doorbell_;
  std::thread io_thread_;
  std::atomic<bool> stop_{false};
  // The other threads the Client starts (HTL proof requests, a test's
  // resolver); joined by the destructor.
  Workers workers_;

  internal::Mutex process_mu_;  // serialises Process() between threads
  Completions pass_done_ ABSL_GUARDED_BY(process_mu_);
  internal::Mutex mu_;  // everything below, and every Connection
  internal::CondVar settled_cv_;
  // Name lookups on this loop; destroying it cancels them.
  std::unique_ptr<internal::DnsChannel> dns_ ABSL_GUARDED_BY(mu_);
  // Before conns_, which point at it until they are destroyed.
  DialGate dial_gate_ ABSL_GUARDED_BY(mu_){settings_.dials_per_address};
  std::vector<std::unique_ptr<Connection>> conns_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> welcomed_ ABSL_GUARDED_BY(mu_);
  size_t unsettled_ ABSL_GUARDED_BY(mu_) = 0;
  bool initial_done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time initial_deadline_ ABSL_GUARDED_BY(mu_);
  absl::Time timer_armed_for_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  uint64_t timer_arms_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<int, SlotEntry> slots_ ABSL_GUARDED_BY(mu_);  // by slot id
  // Servers welcomed (or whose slots changed) whose slots are not numbered yet
  // (NumberWelcomedLocked).
  std::vector<size_t> to_number_ ABSL_GUARDED_BY(mu_);
  // Which links are up (welcomed and not lost since), and the LinkEvents not
  // yet handed to settings_.on_link_event.
  std::vector<bool> up_ ABSL_GUARDED_BY(mu_);
  std::vector<LinkEvent> link_events_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<size_t, std::string>, int> slot_index_
      ABSL_GUARDED_BY(mu_);
  // The HA groups; null when none is configured.
  std::unique_ptr<HaGroups> ha_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_CLIENT_H_
