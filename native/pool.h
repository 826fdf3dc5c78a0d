// A pool of threads started once and kept, and the parallel loops the kernels use.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace native {

// The cores this process may run on (a container or `taskset` often allows fewer than the machine has).
int hardwareThreads();

// Calls work() on this thread and on up to `helpers` pool threads, those that are awake in time to
// join before this thread has finished its own call; returns when every call has returned. `work`
// must take its pieces from shared counters, so that it completes whatever no helper took: a helper
// that sleeps (or was preempted) when the job is posted then costs nothing instead of its share.
// With `wake` false, sleeping threads are left asleep: waking one costs the caller a system call,
// more than a small job saves.
void share(int helpers, const std::function<void()>& work, bool wake = true);

// Counts since the process started, for profiling: jobs shared with helpers, helper threads that
// joined one, and jobs that had to wake a sleeping thread.
struct PoolStats {
  uint64_t jobs, joins, wakes;
};
PoolStats poolStats();

// body(begin, end) over [0, n) in pieces of `grain`, taken in turn by this thread and up to
// threads - 1 helpers.
template <typename F>
void parallelFor(size_t n, size_t grain, int threads, F&& body) {
  if (n == 0) return;
  grain = std::max<size_t>(grain, 1);
  if (threads <= 1 || n <= grain) return body(size_t{0}, n);
  std::atomic<size_t> next{0};
  share(threads - 1, [&] {
    for (size_t a; (a = next.fetch_add(grain, std::memory_order_relaxed)) < n;) body(a, std::min(n, a + grain));
  });
}

// Pieces of about a quarter of each thread's share, in multiples of 16 (whole vectors), at least `least`.
inline size_t grainFor(size_t n, int threads, size_t least) {
  return std::max(least, (n / (4 * (size_t)std::max(threads, 1)) + 15) / 16 * 16);
}

}  // namespace native
