#ifndef TRUSTLINK_NTL_CLIENT_SETTINGS_H_
#define TRUSTLINK_NTL_CLIENT_SETTINGS_H_

// ClientSettings: everything the NTLA needs, as plain data. The loader from a
// client root (trustlink.conf + the trust store) fills one of these; tests and
// embedders may fill it themselves.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ntl/client/dial_gate.h"
#include "ntl/client/reconnect_backoff.h"
#include "ntl/wire/frame.h"

namespace trustlink::ntl::client {

// ServerSettings is one configured appliance (ServerNameNN / ServerPortNN /
// ServerHtlNN).
struct ServerSettings {
  std::string name;  // the name the trust store knows it by
                     // (cert/server/<name>Cert.pem)
  std::string
      host;  // host name or IP literal to connect to; defaults to `name`
  uint16_t port = 1792;
  bool htl = false;  // this client requires HTL with this appliance
  // pinned_cert_der is the server certificate from the trust store. The server
  // must present exactly this certificate. Empty means the server is not in the
  // trust store (CAFile.pem): it is never contacted, and its state says why.
  std::string pinned_cert_der;
  // trust_error, when not empty, replaces the default "not in CAFile.pem"
  // explanation for an empty pin (the loader knows the precise reason).
  std::string trust_error;
};

// ResolverFn turns a host name into IP literals ("192.0.2.7", "2001:db8::7"),
// in the order to try them: the test seam for name resolution. It runs on a
// worker thread the Client owns (on the caller of Process() without an I/O
// thread; on the dialling thread in FramedSession) and may block.
using ResolverFn =
    std::function<absl::StatusOr<std::vector<std::string>>(const std::string&)>;

// LinkEvent is a change of one server's link, for hosts that react to it
// instead of polling Servers().
struct LinkEvent {
  enum class Kind {
    kUp = 1,            // welcomed: calls on its slots work
    kDown = 2,          // a ready link was lost; status says why
    kSlotsChanged = 3,  // the server listed a different set of partitions
    // HA groups (docs/ha.md, "Events"): a member stopped or started taking
    // load, or the group lost its last member up or got one back.
    kHaMemberDown = 4,
    kHaMemberUp = 5,
    kHaGroupDown = 6,
    kHaGroupUp = 7,
  };
  Kind kind = Kind::kUp;
  size_t server = 0;  // index in ClientSettings::servers (member events: the
                      // member's server; group events: 0)
  absl::Status status;
  // HA events only: the group's index in ClientSettings::ha_groups and, for
  // member events, the member's index in its members.
  size_t group = 0;
  size_t member = 0;
};

// HaMemberSettings names one member of an HA group (docs/ha.md): the
// partition `partition` on the configured server `server`. A member imported
// from a Chrystoki.conf may name its partition by serial number instead
// (serial not empty, server and partition empty): it matches the slot whose
// partition has that serial.
struct HaMemberSettings {
  std::string server;
  std::string partition;
  std::string serial;
  // standby: takes load only when no active member is up.
  bool standby = false;
};

// HaGroupSettings is one HA group (VirtualTokenNN in trustlink.conf): one
// virtual slot over its members, with a number that stays the same across
// member failures and restarts.
struct HaGroupSettings {
  std::string label;   // VirtualTokenNNLabel; unique among groups
  std::string serial;  // VirtualTokenNNSN; the virtual slot's serial
  std::vector<HaMemberSettings> members;  // in config order
};

// HaSettings is the HAConfiguration section, shared by every group.
struct HaSettings {
  // HAOnly: the slot list shows only the virtual slots, not the members'.
  bool ha_only = false;
  // AutoReconnectInterval: the first wait before a lost member is probed
  // again; later probes back off from it.
  absl::Duration auto_reconnect_interval = absl::Seconds(60);
  // reconnAtt: probes before a lost member is given up on until the next
  // open; -1 means never give up.
  int reconnect_attempts = -1;
};

// ClientSettings configures a Client.
struct ClientSettings {
  std::vector<ServerSettings>
      servers;                  // in config order; slots follow this order
  std::string client_cert_pem;  // the client's own certificate
  std::string client_key_pem;   // and its private key

  // TCP keep-alive (TCPKeepAlive in trustlink.conf): idle time, probe interval,
  // probes.
  bool tcp_keepalive = true;
  int keepalive_idle_seconds = 30;
  int keepalive_interval_seconds = 10;
  int keepalive_count = 3;

  // Time allowed for TCP connect + TLS handshake + hello/welcome.
  absl::Duration connect_timeout = absl::Seconds(10);
  // A ping is sent after this much silence from the server; the link is
  // declared dead when nothing at all arrived for heartbeat_timeout.
  absl::Duration heartbeat_interval = absl::Seconds(10);
  absl::Duration heartbeat_timeout = absl::Seconds(30);
  // Reconnect backoff (ntl/client/reconnect_backoff.h): doubles from min to
  // max, with jitter (a random 50-100% of it). Within reconnect_refused_window
  // of losing a link that was up, a connection the server's host refused (a
  // restart in progress) waits at most reconnect_refused_max (kept within
  // [min, max]).
  // The defaults are ReconnectPolicy's, which benchmarks/storm runs too.
  bool reconnect = true;
  absl::Duration reconnect_min = ReconnectPolicy().min;
  absl::Duration reconnect_max = ReconnectPolicy().max;
  absl::Duration reconnect_refused_max = ReconnectPolicy().refused_max;
  absl::Duration reconnect_refused_window = ReconnectPolicy().refused_window;
  // The most connection attempts in flight (connect to welcome) to one server
  // address; the client's other links to it queue for their turn
  // (dial_gate.h says why, and how the default was chosen).
  int dials_per_address = kDefaultDialsPerAddress;

  // busy_poll_us: before a lone blocking call sleeps for its answer (the
  // caller reading its own answer, docs/client.md), it polls the socket
  // without blocking for at most this many microseconds, and backs off on a
  // link whose answers take longer (internal/busy_poll.h). 0, the
  // default, is off: the spin burns CPU to save a wake-up, which only a
  // latency-bound host with cores to spare wants. At most
  // internal::kMaxBusyPollMicros.
  uint32_t busy_poll_us = 0;

  // use_io_thread false: the library creates no thread; the embedder waits on
  // fd() and calls Process() (CKF_LIBRARY_CANT_CREATE_OS_THREADS).
  bool use_io_thread = true;
  // How long Create() waits for the first connection attempt to every server to
  // settle (thread mode), so that slot numbering follows config order.
  absl::Duration initial_wait = absl::Seconds(5);

  // HTL (docs/htl.md): for a server with htl = true, every handshake is
  // followed by a link proof from the local HTL agent (htlclient), asked for
  // on this AF_UNIX socket. Empty means htl::DefaultProofSocketPath()
  // ($XDG_RUNTIME_DIR/trustlink/htl-agent.sock, else
  // /tmp/trustlink-<uid>/htl-agent.sock).
  std::string htl_proof_socket;
  // The longest a handshake waits for the agent's answer (never longer than
  // what is left of connect_timeout). The request runs on a worker thread, so
  // the client's other links go on meanwhile (without library threads, on the
  // caller of Process()); the agent answers from memory in well under a
  // millisecond.
  absl::Duration htl_proof_timeout = absl::Seconds(2);

  // slot_numbers_dir: the client root, where slots.conf keeps slot numbers
  // across processes (slot_numbers.h). Empty: numbers are given in memory, in
  // config order, and last as long as the Client.
  std::string slot_numbers_dir;

  // resolver looks server host names up; empty means c-ares on the client's
  // own loop (ntl/internal/dns.h: the hosts file, then DNS; every address,
  // the two families interleaved), cancelled at close. IP literals never
  // reach it. Tests substitute one to return chosen addresses or to hang; it
  // runs on a worker the Client joins at close (workers.h).
  ResolverFn resolver;
  // dns_servers, when not empty, replaces resolv.conf's name servers for this
  // client's lookups (c-ares CSV: "127.0.0.1:5353,[::1]:53").
  std::string dns_servers;

  // on_link_event, when set, receives every LinkEvent in order, on the I/O
  // thread (or the caller of Process()), with no library lock held.
  std::function<void(const LinkEvent&)> on_link_event;

  // HA groups over this client's slots (docs/ha.md); empty: none.
  std::vector<HaGroupSettings> ha_groups;
  HaSettings ha;

  uint32_t max_payload = wire::kDefaultMaxPayload;
  std::string software = "trustlink/1.0.0";
};

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_SETTINGS_H_
