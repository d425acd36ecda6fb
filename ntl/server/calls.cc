// Partition requests and streams on an admitted ntl/1 link (docs/wire.md):
// dispatch to the PartitionHandler and StreamServices, and their answers,
// which come back on the loop directly or through its mailbox.

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/server/conn.h"
#include "ntl/server/event_loop.h"
#include "ntl/status.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::ntl::server::internal_engine {
namespace {

constexpr size_t kStreamChunk = 64 * 1024;

// RecycledBlocks keeps the blocks of destroyed ResponderImpls for the next
// ones made on the same thread: a call answered on the loop then costs no
// heap allocation (pipelined_dispatch_test). A Responder may die on any
// thread (a handler that answers later), so each thread keeps its own spares,
// up to kSpares (a window of 64 calls in flight fits), and frees the rest; no
// lock is shared. The spares die with their thread.
class RecycledBlocks {
 public:
  static constexpr size_t kSpares = 128;
  ~RecycledBlocks() {
    for (size_t i = 0; i < count_; ++i) {
      ::operator delete(blocks_[i]);
    }
    count_ = 0;
    gone_ = true;  // a Responder freed later on this thread frees its block
  }
  void* Take(size_t size) {
    if (count_ > 0) {
      return blocks_[--count_];
    }
    return ::operator new(size);
  }
  void Give(void* block) {
    if (gone_ || count_ == kSpares) {
      ::operator delete(block);
      return;
    }
    blocks_[count_++] = block;
  }

 private:
  void* blocks_[kSpares];
  size_t count_ = 0;
  bool gone_ = false;
};

thread_local RecycledBlocks t_responder_blocks;

class ResponderImpl final : public Responder {
 public:
  // Every ResponderImpl has the same size, so any spare block fits.
  static void* operator new(size_t size) {
    return t_responder_blocks.Take(size);
  }
  static void operator delete(void* block) { t_responder_blocks.Give(block); }

  ResponderImpl(std::shared_ptr<Mailbox> mailbox, Loop* loop, uint64_t conn_id,
                uint32_t request_id, uint64_t seq,
                std::shared_ptr<stats::ServerShard> timed,
                std::chrono::steady_clock::time_point start)
      : mailbox_(std::move(mailbox)),
        loop_(loop),
        conn_id_(conn_id),
        request_id_(request_id),
        seq_(seq) {
    if (timed != nullptr) {
      timer_.emplace(std::move(timed), start);
    }
  }
  ~ResponderImpl() override {
    if (!done_) {
      Respond(TL_E_INTERNAL, "the partition handler dropped the request");
    }
  }
  void Respond(int32_t status, std::string data) override {
    if (done_) {
      return;
    }
    if (IsCurrentLoop(loop_)) {
      RespondBytes(status, data);
      return;
    }
    done_ = true;
    if (timer_.has_value()) {
      timer_->Finish(status);
    }
    mailbox_->Post([loop = loop_, conn_id = conn_id_, request_id = request_id_,
                    seq = seq_, status, d = std::move(data)]() mutable {
      loop->CompleteRequest(conn_id, request_id, seq, status, d);
    });
  }
  void RespondBytes(int32_t status, absl::string_view data) override {
    if (done_) {
      return;
    }
    if (!IsCurrentLoop(loop_)) {
      Respond(status, std::string(data));
      return;
    }
    done_ = true;
    // On the loop: encoded straight into the connection's output, and a call
    // answered inside its HandleRequest never enters the pending table. Its
    // timer started at this wake-up, so the loop ends it with the wake-up's
    // other answers on one clock read (Loop::CountInlineAnswers).
    if (loop_->AnswerInline(conn_id_, request_id_, seq_, status, data)) {
      if (timer_.has_value()) {
        loop_->CountInlineAnswer(status);
      }
      return;
    }
    if (timer_.has_value()) {
      timer_->Finish(status);
    }
    loop_->CompleteRequest(conn_id_, request_id_, seq_, status, data);
  }

 private:
  const std::shared_ptr<Mailbox> mailbox_;
  Loop* const loop_;
  const uint64_t conn_id_;
  const uint32_t request_id_;
  const uint64_t seq_;
  bool done_ = false;
  std::optional<stats::CallTimer> timer_;  // partition calls, not HTL ones
};

class SinkImpl : public StreamSink {
 public:
  SinkImpl(std::shared_ptr<Mailbox> mailbox, Loop* loop, uint64_t conn_id,
           uint32_t stream_id, uint64_t seq)
      : mailbox_(std::move(mailbox)),
        loop_(loop),
        conn_id_(conn_id),
        stream_id_(stream_id),
        seq_(seq) {}
  void Send(std::string data) override {
    mailbox_->Post([loop = loop_, conn_id = conn_id_, stream_id = stream_id_,
                    seq = seq_, d = std::move(data)]() mutable {
      loop->StreamSend(conn_id, stream_id, seq, std::move(d));
    });
  }
  void Close(int32_t status, std::string message) override {
    mailbox_->Post([loop = loop_, conn_id = conn_id_, stream_id = stream_id_,
                    seq = seq_, status, m = std::move(message)]() mutable {
      loop->StreamServerClose(conn_id, stream_id, seq, status, std::move(m));
    });
  }

 private:
  const std::shared_ptr<Mailbox> mailbox_;
  Loop* const loop_;
  const uint64_t conn_id_;
  const uint32_t stream_id_;
  const uint64_t seq_;
};

}  // namespace

bool HasPartition(const ClientRecord& record, absl::string_view partition) {
  for (const wire::SlotInfo& s : record.partitions) {
    if (s.partition == partition) {
      return true;
    }
  }
  return false;
}

const std::string* FirstUnassigned(const ClientRecord& record,
                                   const std::vector<std::string>& partitions) {
  for (const std::string& p : partitions) {
    if (!HasPartition(record, p)) {
      return &p;
    }
  }
  return nullptr;
}

std::unique_ptr<Responder> Loop::NewResponder(
    uint64_t conn_id, uint32_t request_id, uint64_t seq,
    std::shared_ptr<stats::ServerShard> timed) {
  return std::make_unique<ResponderImpl>(mailbox_, this, conn_id, request_id,
                                         seq, std::move(timed), wake_);
}

absl::optional<wire::RequestView> Loop::AcceptRequest(
    Conn* c, const wire::FrameView& f) {
  absl::StatusOr<wire::RequestView> req = wire::DecodeRequestView(f.payload);
  if (!req.ok()) {
    GoAway(c, TL_E_PROTOCOL, req.status().message());
    return absl::nullopt;
  }
  if (c->pending.count(f.id) != 0) {
    GoAway(c, TL_E_PROTOCOL,
           absl::StrCat("request id ", f.id, " is already in flight"));
    return absl::nullopt;
  }
  return *req;
}

void Loop::RespondNow(Conn* c, uint32_t id, int32_t status,
                      absl::string_view message) {
  if (c->dead) {
    return;
  }
  // Encoded straight into c->out: a large answer is copied once, not once
  // more into an intermediate string.
  // The 20-byte head is past std::string's inline capacity: a reused string
  // keeps that from being an allocation per answer.
  head_scratch_.clear();
  wire::AppendResponseHead(id, status, static_cast<uint32_t>(message.size()),
                           &head_scratch_);
  AppendOut(c, head_scratch_);
  AppendOut(c, message);
}

void Loop::HandleRequest(Conn* c, const wire::FrameView& f) {
  absl::optional<wire::RequestView> req = AcceptRequest(c, f);
  if (!req.has_value()) {
    return;
  }
  auto respond_now = [&](int32_t status, absl::string_view message) {
    c->stats->CallFailedEarly();
    RespondNow(c, f.id, status, message);
  };
  if (c->finish_then_close) {
    respond_now(TL_E_UNAVAILABLE,
                "the appliance is shutting down; retry on another link");
    return;
  }
  if (!HasPartition(*c->admission.record, req->partition)) {
    respond_now(TL_E_PARTITION_NOT_ASSIGNED,
                absl::StrCat("partition '", req->partition,
                             "' is not assigned to client '",
                             c->admission.record->label, "'"));
    return;
  }
  if (!server_->handler_) {
    respond_now(TL_E_UNIMPLEMENTED, "this appliance has no partition handler");
    return;
  }
  const uint64_t seq = ++next_seq_;
  // A named copy, alive through the handler call: `partitions` is a span of
  // std::string, and the request's view dies with the frame.
  const std::string partition(req->partition);
  CallContext ctx{c->admission.record->label, c->fingerprint, partition,
                  absl::MakeConstSpan(&partition, 1)};
  // An answer given before HandleRequest returns (the software partition's
  // pure ops) goes straight out (AnswerInline); only a call still open after
  // it enters the pending table, where revocation and late answers find it.
  inline_ = InlineRequest{c->id, f.id, seq, true, false};
  server_->handler_->HandleRequest(ctx, req->op, req->data,
                                   NewResponder(c->id, f.id, seq, c->stats));
  const bool answered = inline_.answered;
  inline_.open = false;
  if (!answered && !c->dead) {
    c->pending[f.id] = Conn::Pending{partition, seq};
  }
}

void Loop::CountInlineAnswer(int32_t status) {
  ++inline_answers_;
  if (status != TL_OK) {
    ++inline_failures_;
  }
}

void Loop::CountInlineAnswers() {
  if (inline_answers_ == 0) {
    return;
  }
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now() - wake_);
  server_->stats_->shard(static_cast<size_t>(index_))
      ->CallsFinished(
          static_cast<uint64_t>(std::max<int64_t>(nanos.count(), 0)),
          inline_answers_, inline_failures_);
  inline_answers_ = 0;
  inline_failures_ = 0;
}

bool Loop::AnswerInline(uint64_t conn_id, uint32_t request_id, uint64_t seq,
                        int32_t status, absl::string_view data) {
  if (!inline_.open || inline_.conn_id != conn_id ||
      inline_.request_id != request_id || inline_.seq != seq) {
    return false;
  }
  inline_.open = false;
  inline_.answered = true;
  Conn* c = Find(conn_id);
  if (c != nullptr) {
    RespondNow(c, request_id, status, data);
  }
  return true;
}

void Loop::HandleStreamOpen(Conn* c, const wire::FrameView& f) {
  auto open = wire::DecodeStreamOpen(f.payload);
  if (!open.ok()) {
    GoAway(c, TL_E_PROTOCOL, open.status().message());
    return;
  }
  auto refuse = [&](int32_t status, const std::string& msg) {
    wire::Closing cl;
    cl.status = status;
    cl.message = msg;
    SendFrame(c, wire::FrameType::kStreamClose, f.id, wire::EncodeClosing(cl));
  };
  if (c->streams.count(f.id) != 0) {
    GoAway(c, TL_E_PROTOCOL, absl::StrCat("stream ", f.id, " is already open"));
    return;
  }
  if (c->finish_then_close) {
    refuse(TL_E_UNAVAILABLE, "the appliance is shutting down");
    return;
  }
  // An open without a partition is client-wide: it covers every partition
  // assigned now (the pkcs11 service serves them all on one stream).
  std::vector<std::string> partitions;
  if (open->partition.empty()) {
    for (const wire::SlotInfo& s : c->admission.record->partitions) {
      partitions.push_back(s.partition);
    }
    std::sort(partitions.begin(), partitions.end());
    if (partitions.empty()) {
      refuse(TL_E_PARTITION_NOT_ASSIGNED,
             absl::StrCat("client '", c->admission.record->label,
                          "' has no partitions assigned on this appliance"));
      return;
    }
  } else if (!HasPartition(*c->admission.record, open->partition)) {
    refuse(TL_E_PARTITION_NOT_ASSIGNED,
           absl::StrCat("partition '", open->partition,
                        "' is not assigned to client '",
                        c->admission.record->label, "'"));
    return;
  } else {
    partitions.push_back(open->partition);
  }
  auto svc = server_->services_.find(open->service);
  if (svc == server_->services_.end()) {
    refuse(TL_E_NOT_FOUND,
           absl::StrCat("this appliance has no service '", open->service, "'"));
    return;
  }
  const uint64_t seq = ++next_seq_;
  CallContext ctx{c->admission.record->label, c->fingerprint, open->partition,
                  partitions};
  auto session = svc->second->Open(
      ctx, std::make_shared<SinkImpl>(mailbox_, this, c->id, f.id, seq));
  if (!session.ok()) {
    refuse(ntl::ToTlStatus(session.status()),
           std::string(session.status().message()));
    return;
  }
  c->streams[f.id] = Conn::Stream{open->partition, std::move(partitions), seq,
                                  std::move(*session)};
}

void Loop::CompleteRequest(uint64_t conn_id, uint32_t request_id, uint64_t seq,
                           int32_t status, absl::string_view data) {
  Conn* c = Find(conn_id);
  if (c == nullptr) {
    return;
  }
  auto it = c->pending.find(request_id);
  if (it == c->pending.end() || it->second.seq != seq) {
    return;  // already failed (partition revoked) or the id was reused since
  }
  c->pending.erase(it);
  if (c->state != Conn::State::kDraining) {
    RespondNow(c, request_id, status, data);
  }
  MaybeFinishDrain(c);
  if (!c->processing && !c->dead) {
    FlushSoon(c);
  }
}

void Loop::StreamSend(uint64_t conn_id, uint32_t stream_id, uint64_t seq,
                      std::string data) {
  Conn* c = Find(conn_id);
  if (c == nullptr) {
    return;
  }
  auto it = c->streams.find(stream_id);
  if (it == c->streams.end() || it->second.seq != seq) {
    return;
  }
  absl::string_view rest(data);
  while (!rest.empty()) {
    const size_t n = std::min(rest.size(), kStreamChunk);
    SendFrame(c, wire::FrameType::kStreamData, stream_id, rest.substr(0, n));
    rest.remove_prefix(n);
  }
  FlushSoon(c);
}

void Loop::StreamServerClose(uint64_t conn_id, uint32_t stream_id, uint64_t seq,
                             int32_t status, std::string message) {
  Conn* c = Find(conn_id);
  if (c == nullptr) {
    return;
  }
  auto it = c->streams.find(stream_id);
  if (it == c->streams.end() || it->second.seq != seq) {
    return;
  }
  std::unique_ptr<StreamSession> session = std::move(it->second.session);
  c->streams.erase(it);
  wire::Closing cl;
  cl.status = status;
  cl.message = std::move(message);
  SendFrame(c, wire::FrameType::kStreamClose, stream_id,
            wire::EncodeClosing(cl));
  session->OnClose();
  FlushSoon(c);
}

}  // namespace trustlink::ntl::server::internal_engine
