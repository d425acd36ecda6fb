// peer_load: the load generator of the peer harness (benchmarks/peers/run).
// It runs one measurement against one peer and prints its figure:
//
//   peer_load WORK --target TARGET [options]
//
// WORK and what it prints:
//   rtt        one call at a time              result CALLS_PER_S
//   inflight   --depth calls always in flight  result CALLS_PER_S
//   bulk       one --size call at a time       result MB_PER_S (payload, 10^6)
//   handshake  connect, mTLS handshake, one round trip, close
//                                              result HANDSHAKES_PER_S, cipher
//                                              ...
//   links      --count links at once           up SECONDS
//              then, on stdin: "down" waits until every link is down (prints
//              "down"), "go" times until every link is back (prints "back
//              SECONDS"; trustlink only); end of input closes them and exits
// TARGET:
//   trustlink:ROOT     the C ABI client of client root ROOT (partition "echo")
//   tcp:PORT           echo frames over plain TCP to 127.0.0.1:PORT (the echo
//                      server, or stunnel's client side)
//   ntls:PORT, echo-tls:PORT, line-tls:PORT
//                      handshake targets: ntlsd, stunnel's server side, and
//                      openssl s_server -rev (with --cert, --key, --pin)
// Options: --size BYTES (64) --depth N (64) --seconds S (1) --count N (1000)
//          --timeout S (60) --resume --busy-poll US (0: off; trustlink only)
// rtt, inflight and bulk also print "cpu_s SECONDS": the CPU this process
// used for the measured work, so the harness can give CPU per call.
// Failures print "error MESSAGE" and exit 1.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iostream>
#include <memory>
#include <string>

#include "benchmarks/peers/handshake_load.h"
#include "benchmarks/peers/load.h"
#include "benchmarks/peers/tcp_load.h"
#include "benchmarks/peers/trustlink_load.h"

namespace trustlink::peers {
namespace {

struct Args {
  std::string work, kind, where;  // kind:where from --target
  Work w;
  bool resume = false;
  TlsTarget tls;
};

[[noreturn]] void Usage(const std::string& why) {
  fprintf(stderr,
          "peer_load: %s\nusage: peer_load rtt|inflight|bulk|handshake|links "
          "--target KIND:WHERE [--size N] [--depth N] [--seconds S] "
          "[--count N] [--timeout S] [--busy-poll US] [--resume] "
          "[--cert F --key F --pin F]\n",
          why.c_str());
  exit(2);
}

double Number(const char* name, const char* text) {
  char* end = nullptr;
  const double v = strtod(text, &end);
  if (end == text || *end != '\0' || v <= 0) {
    Usage(std::string("--") + name + " wants a positive number, not '" + text +
          "'");
  }
  return v;
}

Args Parse(int argc, char** argv) {
  if (argc < 2) {
    Usage("no work named");
  }
  Args a;
  a.work = argv[1];
  std::string target;
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--resume") {
      a.resume = true;
      continue;
    }
    if (i + 1 >= argc) {
      Usage("no value for " + flag);
    }
    const char* v = argv[++i];
    if (flag == "--target") {
      target = v;
    } else if (flag == "--size") {
      a.w.size = static_cast<size_t>(Number("size", v));
    } else if (flag == "--depth") {
      a.w.depth = static_cast<int>(Number("depth", v));
    } else if (flag == "--seconds") {
      a.w.seconds = Number("seconds", v);
    } else if (flag == "--count") {
      a.w.count = static_cast<int>(Number("count", v));
    } else if (flag == "--timeout") {
      a.w.timeout = Number("timeout", v);
    } else if (flag == "--busy-poll") {
      // 0 (off) is allowed here; the library refuses what is over its limit.
      a.w.busy_poll_us = std::string(v) == "0"
                             ? 0
                             : static_cast<uint32_t>(Number("busy-poll", v));
    } else if (flag == "--cert") {
      a.tls.cert_file = v;
    } else if (flag == "--key") {
      a.tls.key_file = v;
    } else if (flag == "--pin") {
      a.tls.pin_file = v;
    } else {
      Usage("unknown option " + flag);
    }
  }
  const size_t colon = target.find(':');
  if (colon == std::string::npos) {
    Usage("--target wants KIND:WHERE, not '" + target + "'");
  }
  a.kind = target.substr(0, colon);
  a.where = target.substr(colon + 1);
  return a;
}

uint16_t Port(const std::string& text) {
  const double p = Number("target port", text.c_str());
  if (p > 65535 || p != static_cast<int>(p)) {
    Usage("not a port: " + text);
  }
  return static_cast<uint16_t>(p);
}

int Report(const Result& r, const char* what = "result") {
  if (!r.ok) {
    printf("error %s\n", r.error.c_str());
    return 1;
  }
  printf("%s %.6g\n", what, r.value);
  fflush(stdout);
  return 0;
}

// Measured reports a data work's result with the CPU it took since `cpu0`.
int Measured(const Result& r, double cpu0) {
  if (r.ok) {
    printf("cpu_s %.6g\n", ProcessCpuSeconds() - cpu0);
  }
  return Report(r);
}

// HoldLinks answers the driver's lines on stdin until it closes it.
int HoldLinks(TlLinks* links, const Work& w) {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) {
      continue;
    }
    if (line == "down") {
      Result r = links->WaitAllDown(w.timeout);
      if (!r.ok) {
        return Report(r);
      }
      printf("down\n");
      fflush(stdout);
    } else if (line == "go") {
      if (Report(links->WaitAllUp(w.timeout), "back") != 0) {
        return 1;
      }
    } else {
      printf("error unknown command '%s'\n", line.c_str());
      return 1;
    }
  }
  return 0;
}

int Run(const Args& a) {
  if (a.kind == "trustlink") {
    std::string error;
    std::unique_ptr<TlLinks> links = TlLinks::Open(
        a.where, a.work == "links" ? a.w.count : 1, a.w.busy_poll_us, &error);
    if (!links) {
      return Report(Result::Fail(error));
    }
    Result up = links->WaitAllUp(a.w.timeout);
    if (a.work == "links") {
      return Report(up, "up") != 0 ? 1 : HoldLinks(links.get(), a.w);
    }
    if (!up.ok) {
      return Report(up);
    }
    const double cpu0 = ProcessCpuSeconds();
    if (a.work == "rtt") {
      return Measured(TlRoundTrips(links.get(), a.w), cpu0);
    }
    if (a.work == "inflight") {
      return Measured(TlInFlight(links.get(), a.w), cpu0);
    }
    if (a.work == "bulk") {
      return Measured(TlBulk(links.get(), a.w), cpu0);
    }
  } else if (a.kind == "tcp") {
    const uint16_t port = Port(a.where);
    const double cpu0 = ProcessCpuSeconds();
    if (a.work == "rtt") {
      return Measured(TcpRoundTrips(port, a.w), cpu0);
    }
    if (a.work == "inflight") {
      return Measured(TcpInFlight(port, a.w), cpu0);
    }
    if (a.work == "bulk") {
      return Measured(TcpBulk(port, a.w), cpu0);
    }
    if (a.work == "links") {
      std::vector<int> fds;
      const int rc = Report(TcpOpenLinks(port, a.w, &fds), "up");
      std::string line;
      while (rc == 0 && std::getline(std::cin, line)) {
      }
      CloseAll(&fds);
      return rc;
    }
  } else if (a.work == "handshake" &&
             (a.kind == "ntls" || a.kind == "echo-tls" ||
              a.kind == "line-tls")) {
    TlsTarget t = a.tls;
    t.port = Port(a.where);
    t.exchange = a.kind == "ntls"       ? Exchange::kNtlHello
                 : a.kind == "echo-tls" ? Exchange::kEcho
                                        : Exchange::kLine;
    if (t.cert_file.empty() || t.key_file.empty() || t.pin_file.empty()) {
      Usage("handshake wants --cert, --key and --pin");
    }
    std::string cipher;
    Result r = Handshakes(t, a.resume, a.w, &cipher);
    if (r.ok) {
      printf("cipher %s\n", cipher.c_str());
    }
    return Report(r);
  }
  Usage("work '" + a.work + "' does not run against target kind '" + a.kind +
        "'");
}

}  // namespace
}  // namespace trustlink::peers

int main(int argc, char** argv) {
  return trustlink::peers::Run(trustlink::peers::Parse(argc, argv));
}
