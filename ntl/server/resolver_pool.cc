#include "ntl/server/resolver_pool.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <deque>
#include <utility>

#include "ntl/internal/mutex.h"

namespace trustlink::ntl::server {

// State is shared with the workers, which Stop joins.
struct ResolverPool::State {
  struct Entry {
    Resolution answer;
    absl::Time expires;
  };

  State(std::shared_ptr<Resolver> r, ResolverPoolOptions o)
      : resolver(std::move(r)), options(o) {}

  const std::shared_ptr<Resolver> resolver;
  const ResolverPoolOptions options;
  mutable internal::Mutex mu;
  internal::CondVar cv;
  std::deque<std::string> queue ABSL_GUARDED_BY(mu);
  // Every hostname queued or being resolved, with whoever waits for it.
  std::map<std::string, std::vector<Done>> waiting ABSL_GUARDED_BY(mu);
  std::map<std::string, Entry> cache ABSL_GUARDED_BY(mu);
  bool stopping ABSL_GUARDED_BY(mu) = false;
  int running ABSL_GUARDED_BY(mu) = 0;
  size_t lookups ABSL_GUARDED_BY(mu) = 0;
};

ResolverPool::ResolverPool(std::shared_ptr<Resolver> resolver,
                           ResolverPoolOptions options)
    : state_(std::make_shared<State>(std::move(resolver), options)) {
  // Every signal blocked, so the embedding program's handlers keep running on
  // its own threads.
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  const int n = std::max(1, options.threads);
  {
    internal::MutexLock lock(&state_->mu);
    state_->running = n;
  }
  for (int i = 0; i < n; ++i) {
    threads_.emplace_back([s = state_] { Run(s); });
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

ResolverPool::~ResolverPool() { Stop(); }

std::optional<Resolution> ResolverPool::Cached(const std::string& hostname,
                                               absl::Time now) const {
  internal::MutexLock lock(&state_->mu);
  auto it = state_->cache.find(hostname);
  if (it == state_->cache.end() || now >= it->second.expires) {
    return std::nullopt;
  }
  return it->second.answer;
}

bool ResolverPool::Lookup(const std::string& hostname, Done done) {
  {
    internal::MutexLock lock(&state_->mu);
    if (state_->stopping) {
      return false;
    }
    auto it = state_->waiting.find(hostname);
    if (it != state_->waiting.end()) {
      it->second.push_back(std::move(done));
      return true;
    }
    if (state_->waiting.size() >= state_->options.max_pending) {
      return false;
    }
    state_->waiting[hostname].push_back(std::move(done));
    state_->queue.push_back(hostname);
  }
  state_->cv.Signal();
  return true;
}

size_t ResolverPool::lookups() const {
  internal::MutexLock lock(&state_->mu);
  return state_->lookups;
}

void ResolverPool::Run(std::shared_ptr<State> s) {
  pthread_setname_np(pthread_self(), "ntls-resolver");
  while (true) {
    std::string hostname;
    {
      internal::MutexLock lock(&s->mu);
      while (s->queue.empty() && !s->stopping) {
        s->cv.Wait(&s->mu);
      }
      if (s->stopping) {
        --s->running;
        s->cv.SignalAll();
        return;
      }
      hostname = std::move(s->queue.front());
      s->queue.pop_front();
      ++s->lookups;
    }
    Resolution r;
    auto got = s->resolver->Resolve(hostname);
    if (got.ok()) {
      r.addresses = std::move(*got);
    } else {
      r.status = got.status();
    }
    std::vector<Done> waiters;
    {
      internal::MutexLock lock(&s->mu);
      const absl::Time now = absl::Now();
      // Only registered hostnames are ever looked up, so the cache is bounded
      // by the registry; expired answers are dropped as new ones arrive.
      for (auto it = s->cache.begin(); it != s->cache.end();) {
        it = now >= it->second.expires ? s->cache.erase(it) : std::next(it);
      }
      const absl::Duration ttl =
          r.status.ok() ? s->options.ttl : s->options.negative_ttl;
      s->cache[hostname] = State::Entry{r, now + ttl};
      auto it = s->waiting.find(hostname);
      if (it != s->waiting.end()) {
        waiters.swap(it->second);
        s->waiting.erase(it);
      }
      if (s->stopping) {
        waiters.clear();  // nobody is listening any more
      }
    }
    for (Done& d : waiters) {
      d(r);
    }
  }
}

void ResolverPool::Stop() {
  {
    internal::MutexLock lock(&state_->mu);
    state_->stopping = true;
    state_->queue.clear();
    state_->waiting.clear();
  }
  state_->cv.SignalAll();
  // A worker inside the resolver returns at once; the others see stopping.
  state_->resolver->Cancel();
  for (std::thread& t : threads_) {
    t.join();
  }
  threads_.clear();
}

}  // namespace trustlink::ntl::server
