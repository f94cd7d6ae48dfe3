// A small persistent thread pool for the native elementwise/reduction/copy kernels (ops.cc):
// parallel_for(n, fn) runs fn(0..n-1) on up to `threads` threads, the caller's thread included.
//
// Workers sleep on a condition variable between calls (no spinning, so they do not steal the
// wasm backend's cores). The caller claims tasks too and waits only for tasks a worker has
// actually started, never for a worker to wake up: on a loaded machine a woken thread can wait
// milliseconds for a core, and then the caller simply does every task itself. Tasks are claimed
// with a compare-and-swap on (generation, next index), so a worker that wakes late cannot claim
// a task of a later call with the function of an earlier one. One call at a time: callers serialise
// (ops.cc holds a mutex around it).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lora_ops {

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

  void parallel_for(int n, int threads, const std::function<void(int)>& fn) {
    const int helpers = std::min(threads, n) - 1;
    if (helpers <= 0) {
      for (int i = 0; i < n; ++i) fn(i);
      return;
    }
    while ((int)workers_.size() < helpers) workers_.emplace_back([this] { loop(); });
    uint32_t gen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      gen = ++generation_;
      fn_ = &fn;
      n_ = n;
      completed_.store(0);
      claim_.store((uint64_t)gen << 32);
    }
    for (int i = 0; i < helpers; ++i) wake_.notify_one();
    run_tasks(gen, n, fn);
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return completed_.load() == n; });
    fn_ = nullptr;
  }

 private:
  // Claims and runs tasks of generation `gen` until none are left.
  void run_tasks(uint32_t gen, int n, const std::function<void(int)>& fn) {
    for (;;) {
      uint64_t s = claim_.load();
      if ((uint32_t)(s >> 32) != gen || (int)(uint32_t)s >= n) return;
      if (!claim_.compare_exchange_weak(s, s + 1)) continue;
      fn((int)(uint32_t)s);
      if (completed_.fetch_add(1) + 1 == n) {
        std::lock_guard<std::mutex> lock(mu_);
        done_.notify_all();
      }
    }
  }

  void loop() {
    uint32_t seen = 0;
    for (;;) {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || (generation_ != seen && fn_ != nullptr); });
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
  uint32_t generation_ = 0;
  std::atomic<uint64_t> claim_{0};
  std::atomic<int> completed_{0};
  bool stop_ = false;
};

}  // namespace lora_ops
