// The thread pool behind share(). Pool threads spin about half a millisecond for the next job before
// they sleep: a training step posts a job every few hundred microseconds, and waking a sleeping
// thread (a futex round trip, slower still in a virtual machine) took 0.1-1 ms there. Because jobs
// are shared by claiming pieces, the caller starts at once and never waits for a thread to wake up:
// a late thread joins for what is left, or stays out.
#include "pool.h"

#include <immintrin.h>
#ifdef __linux__
#include <sched.h>
#endif
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace native {

namespace {

int countThreads() {
  unsigned n = std::thread::hardware_concurrency();
#ifdef __linux__
  // hardware_concurrency ignores affinity: under `taskset -c 0,1` on a 16-core machine it says 16.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) n = (unsigned)CPU_COUNT(&set);
#endif
  return n == 0 ? 1 : (int)std::min(n, 16u);
}

// Spins (with the CPU's pause hint) until `ready` or about half a millisecond has passed.
template <typename F>
bool spinUntil(F ready) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(500);
  for (int i = 1;; i++) {
    if (ready()) return true;
    _mm_pause();
    if ((i & 63) == 0 && std::chrono::steady_clock::now() > deadline) return ready();
  }
}

class ThreadPool {
 public:
  explicit ThreadPool(int n) : size_(n) {
    for (int i = 1; i < n; i++) std::thread([this] { loop(); }).detach();
  }
  int size() const { return size_; }

  void share(int helpers, const std::function<void()>& work, bool wake) {
    helpers = std::min(helpers, size_ - 1);
    if (helpers <= 0) return work();
    std::lock_guard<std::mutex> turn(callers_);  // worker_threads load this addon too: one job at a time
    bool sleeping;
    {
      std::lock_guard<std::mutex> lk(m_);
      job_.store(&work, std::memory_order_relaxed);
      const uint64_t gen = (state_.load(std::memory_order_relaxed) >> kGenShift) + 1;
      state_.store(gen << kGenShift | (uint64_t)helpers, std::memory_order_release);
      sleeping = wake && sleepers_ > 0;
    }
    jobs_.fetch_add(1, std::memory_order_relaxed);
    if (sleeping) {
      wakes_.fetch_add(1, std::memory_order_relaxed);
      wake_.notify_all();
    }
    work();
    // Close the job to threads that have not joined yet, then wait for those that have.
    uint64_t s = state_.load(std::memory_order_acquire);
    while (!state_.compare_exchange_weak(s, s & ~kOpen, std::memory_order_acq_rel)) {
    }
    auto idle = [this] { return (state_.load(std::memory_order_acquire) & kRunning) == 0; };
    if (!spinUntil(idle)) {
      std::unique_lock<std::mutex> lk(m_);
      done_.wait(lk, idle);
    }
  }

 private:
  // state_: the job's generation, how many of its helpers are running, and how many may still join.
  static constexpr int kRunShift = 8, kGenShift = 16;
  static constexpr uint64_t kOpen = 0xff, kRunning = 0xffull << kRunShift, kOneRunning = 1ull << kRunShift;

  void loop() {
    uint64_t seen = 0;
    for (;;) {
      auto posted = [&] { return (state_.load(std::memory_order_acquire) >> kGenShift) != seen; };
      if (!spinUntil(posted)) {
        std::unique_lock<std::mutex> lk(m_);
        sleepers_++;
        wake_.wait(lk, posted);
        sleepers_--;
      }
      uint64_t s = state_.load(std::memory_order_acquire);
      seen = s >> kGenShift;
      // The job stored before this generation was published; a newer job comes only after this one
      // is closed, and then the generation check below keeps this thread out of it.
      const std::function<void()>* job = job_.load(std::memory_order_relaxed);
      bool joined = false;
      while ((s >> kGenShift) == seen && (s & kOpen) != 0) {
        if (state_.compare_exchange_weak(s, s - 1 + kOneRunning, std::memory_order_acq_rel)) {
          joined = true;
          break;
        }
      }
      if (!joined) continue;
      joins_.fetch_add(1, std::memory_order_relaxed);
      (*job)();
      if (((state_.fetch_sub(kOneRunning, std::memory_order_acq_rel) - kOneRunning) & kRunning) == 0) {
        std::lock_guard<std::mutex> lk(m_);
        done_.notify_one();
      }
    }
  }

  const int size_;
  std::mutex callers_, m_;
  std::condition_variable wake_, done_;
  std::atomic<const std::function<void()>*> job_{nullptr};
  std::atomic<uint64_t> state_{0};
  int sleepers_ = 0;

 public:
  std::atomic<uint64_t> jobs_{0}, joins_{0}, wakes_{0};
};

// Never destroyed: its threads are detached and end with the process.
ThreadPool& pool() {
  static ThreadPool* p = new ThreadPool(hardwareThreads());
  return *p;
}

}  // namespace

// Read once: the pool is sized by it, and the kernels ask on every call.
int hardwareThreads() {
  static const int n = countThreads();
  return n;
}

void share(int helpers, const std::function<void()>& work, bool wake) { pool().share(helpers, work, wake); }

PoolStats poolStats() {
  ThreadPool& p = pool();
  return {p.jobs_.load(std::memory_order_relaxed), p.joins_.load(std::memory_order_relaxed), p.wakes_.load(std::memory_order_relaxed)};
}

}  // namespace native
