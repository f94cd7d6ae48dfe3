// The persistent thread pool both addons use (sgemm.cc for matmul panels, ops.cc for the
// elementwise/reduction/copy kernels): parallel_for(n, threads, fn) runs fn(0..n-1) on up to
// `threads` threads, the caller's thread included. Starting threads per call costs more than
// small matmuls take, so workers live as long as the process.
//
// Workers sleep on a condition variable between calls (no spinning, so they do not steal the
// wasm backend's cores). The caller claims tasks too and waits only for tasks a worker has
// actually started, never for a worker to wake up: on a loaded machine a woken thread can wait
// milliseconds for a core, and then the caller simply does every task itself. Tasks are claimed
// with a compare-and-swap on (generation, next index), so a worker that wakes late cannot claim
// a task of a later call with the function of an earlier one. For the last tasks a worker is
// still running, the caller either spins (yielding after a few rounds: matmul panels, where the
// wait is short and a wake-up would cost as much) or sleeps on a condition variable (the ops
// kernels, which use threads only for calls of milliseconds).
//
// One call at a time per pool: run_parallel() holds a mutex around it, since Node worker threads
// that each load an addon share its pool. Each addon (.node) gets its own pool from this header.
// Per-thread scratch (sgemm's packing buffers) belongs in thread_local storage inside fn.
#pragma once

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lora_ops {

enum class Wait { Spin, Sleep };

class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  void parallel_for(int n, int threads, const std::function<void(int)>& fn, Wait wait) {
    const int helpers = std::min(threads, n) - 1;
    if (helpers <= 0) {
      for (int i = 0; i < n; ++i) fn(i);
      return;
    }
    while ((int)workers_.size() < helpers) workers_.emplace_back([this, id = (int)workers_.size()] { loop(id); });
    uint32_t gen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      gen = ++generation_;
      fn_ = &fn;
      n_ = n;
      active_ = helpers;
      completed_.store(0, std::memory_order_relaxed);
      claim_.store((uint64_t)gen << 32, std::memory_order_release);
    }
    wake_.notify_all();
    run_tasks(gen, n, fn);
    if (wait == Wait::Spin) {
      for (int spin = 0; completed_.load(std::memory_order_acquire) < n; ++spin) {
        if (spin > 64) std::this_thread::yield();
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return completed_.load(std::memory_order_acquire) == n; });
    fn_ = nullptr;
  }

 private:
  // Claims and runs tasks of generation `gen` until none are left.
  void run_tasks(uint32_t gen, int n, const std::function<void(int)>& fn) {
    uint64_t s = claim_.load(std::memory_order_acquire);
    for (;;) {
      if ((uint32_t)(s >> 32) != gen || (int)(uint32_t)s >= n) return;
      if (!claim_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      fn((int)(uint32_t)s);
      if (completed_.fetch_add(1, std::memory_order_acq_rel) + 1 == n) {
        std::lock_guard<std::mutex> lock(mu_);
        done_.notify_all();
      }
      s = claim_.load(std::memory_order_acquire);
    }
  }

  // Worker `id` runs only calls that asked for more than `id` helpers.
  void loop(int id) {
    uint32_t seen = 0;
    for (;;) {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || (generation_ != seen && fn_ != nullptr && id < active_); });
      if (stop_) return;
      seen = generation_;
      const std::function<void(int)>* fn = fn_;
      const int n = n_;
      lock.unlock();
      // fn stays valid while a task of this generation is unfinished: the caller waits for those.
      run_tasks(seen, n, *fn);
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* fn_ = nullptr;
  int n_ = 0;
  int active_ = 0;
  uint32_t generation_ = 0;
  std::atomic<uint64_t> claim_{0};
  std::atomic<int> completed_{0};
  bool stop_ = false;
};

// Runs fn(0..n-1) on up to `threads` threads of this addon's pool (created on first use, never
// freed: its workers live as long as the process); one thread runs small calls without the pool.
inline void run_parallel(int n, int threads, const std::function<void(int)>& fn, Wait wait) {
  if (n <= 1 || threads <= 1) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  static std::mutex mu;
  static Pool* pool = nullptr;
  std::lock_guard<std::mutex> lock(mu);
  if (!pool) pool = new Pool();
  pool->parallel_for(n, threads, fn, wait);
}

}  // namespace lora_ops
