// A small persistent thread pool for the native elementwise/reduction/copy kernels (ops.cc):
// parallel_for(n, fn) runs fn(0..n-1) on up to `threads` threads, the caller's thread included.
// Workers sleep on a condition variable between calls (no spinning, so they do not steal the
// wasm backend's cores). One call at a time: the kernels are called from Node's main thread.
#pragma once

#include <atomic>
#include <condition_variable>
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
    while ((int)workers_.size() < helpers) workers_.emplace_back([this, id = (int)workers_.size()] { loop(id); });
    std::unique_lock<std::mutex> lock(mu_);
    fn_ = &fn;
    n_ = n;
    next_ = 0;
    active_ = helpers;
    pending_ = helpers;
    ++generation_;
    lock.unlock();
    wake_.notify_all();
    drain();
    lock.lock();
    done_.wait(lock, [this] { return pending_ == 0; });
    fn_ = nullptr;
  }

 private:
  void drain() {
    for (int t = next_++; t < n_; t = next_++) (*fn_)(t);
  }

  void loop(int id) {
    uint64_t seen = 0;
    for (;;) {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || (generation_ != seen && id < active_); });
      if (stop_) return;
      seen = generation_;
      lock.unlock();
      drain();
      lock.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* fn_ = nullptr;
  std::atomic<int> next_{0};
  int n_ = 0, active_ = 0, pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace lora_ops
