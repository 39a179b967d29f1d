// A GPU and the reference driver wired together through MMIO, PhysMem and the IRQ line, with
// helpers to run a "job" of shader accesses on a context.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <vector>

#include "mali_sim/check/checker.hpp"
#include "mali_sim/gem/driver.hpp"
#include "mali_sim/gpu/gpu.hpp"
#include "protocol/rig.hpp"

namespace mali_sim::testing {

inline DriverConfig driver_config(std::string policy = "panfrost-2m") {
  DriverConfig c;
  c.grow_policy = std::move(policy);
  c.gpu_clock_hz = 1'000'000'000;
  c.record_mmio = true;  // the tests compare register sequences with panfrost's
  return c;
}

struct DriverRig {
  explicit DriverRig(DriverConfig cfg = driver_config(), GpuSpec s = rig_spec(),
                     std::uint64_t mem_bytes = 256ULL << 20)
      : spec(std::move(s)), mem(mem_bytes), frames(mem, 1) {
    gpu = std::make_unique<Gpu>(spec, mem, q);
    gpu->set_access_handler([this](const AccessResult& r) { completed.push_back(r); });
    driver = std::make_unique<Driver>(*gpu, q, frames, std::move(cfg));
    CheckerConfig cc;
    cc.log = false;
    checker = std::make_unique<Checker>(*gpu, mem, &frames, cc);
    driver->set_annotations(checker.get());
    EXPECT_TRUE(driver->probe());
  }
  // The reference driver must give the checker nothing to report, whatever a test does to it
  // (tests that plant a fault on purpose say which detector may speak).
  ~DriverRig() {
    checker->finish();
    for (const CheckReport& r : checker->reports())
      if (!allowed.contains(r.detector)) ADD_FAILURE() << "reference driver: " << r.to_string();
  }
  DriverRig(const DriverRig&) = delete;
  DriverRig& operator=(const DriverRig&) = delete;

  GpuSpec spec;
  PhysMem mem;
  FrameAllocator frames;
  EventQueue q;
  std::unique_ptr<Gpu> gpu;
  std::unique_ptr<Driver> driver;
  std::unique_ptr<Checker> checker;  // destroyed before the driver and the device it watches
  std::set<Detector> allowed;        // detectors a test expects to report
  std::vector<AccessResult> completed;

  CtxId open() {
    auto c = driver->open();
    EXPECT_TRUE(c);
    return *c;
  }
  BoId bo(CtxId ctx, std::uint64_t size, std::uint32_t flags) {
    auto b = driver->create_bo(ctx, size, flags);
    EXPECT_TRUE(b) << (b ? "" : b.error().message);
    return b ? *b : 0;
  }
  GpuVa va(CtxId ctx, BoId b) { return *driver->bo_va(ctx, b); }

  // Issue accesses on the context's AS (binding it as a job does) and run until they are settled
  // (done, failed, or stalled with nothing left to happen). Returns the results in issue order.
  std::vector<AccessResult> run(CtxId ctx, const std::vector<std::pair<GpuVa, Access>>& accesses,
                                unsigned core = 0, bool end_job = true) {
    auto as = driver->job_begin(ctx);
    EXPECT_TRUE(as) << (as ? "" : as.error().message);
    std::vector<AccessResult> out(accesses.size());
    std::vector<bool> have(accesses.size(), false);
    completed.clear();
    for (std::size_t i = 0; i < accesses.size(); ++i) {
      AccessRequest r;
      r.core = static_cast<std::uint16_t>((core + i) % spec.shader_cores);
      r.as = static_cast<std::uint8_t>(*as);
      r.va = accesses[i].first;
      r.access = accesses[i].second;
      r.cookie = i;
      const AccessResult res = gpu->access(r);
      if (res.status != AccessStatus::Pending) {
        out[i] = res;
        have[i] = true;
      }
    }
    q.run_until_idle(1'000'000);
    for (const auto& r : completed) {
      out[r.request.cookie] = r;
      have[r.request.cookie] = true;
    }
    for (std::size_t i = 0; i < accesses.size(); ++i) {
      if (!have[i]) out[i].status = AccessStatus::Pending;  // still stalled
    }
    if (end_job) {
      EXPECT_TRUE(driver->job_end(ctx));
    }
    return out;
  }
  AccessResult touch(CtxId ctx, GpuVa va, Access a = Access::Write, unsigned core = 0) {
    return run(ctx, {{va, a}}, core)[0];
  }
};

}  // namespace mali_sim::testing
