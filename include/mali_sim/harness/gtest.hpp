// GoogleTest glue for the driver checker (header only: the library does not link GoogleTest).
//
//   SimulatorOptions opt;
//   mali_sim::testing::fail_on_report(opt.check_config);   // any report fails the test
//   Simulator sim(spec, opt);
//   ...
//   EXPECT_TRUE(mali_sim::testing::no_reports(sim));       // or assert on them explicitly
#pragma once

#include <gtest/gtest.h>

#include "mali_sim/check/checker.hpp"
#include "mali_sim/harness/simulator.hpp"

namespace mali_sim::testing {

// Every report becomes a non-fatal failure of the running test, with the report as its message.
inline void fail_on_report(CheckerConfig& config) {
  config.on_report = [](const CheckReport& r) { ADD_FAILURE() << r.to_string(); };
}

// Success when the checker has nothing to report (after its end-of-run checks); the failure
// message lists every report.
inline ::testing::AssertionResult no_reports(Simulator& sim) {
  const auto& reports = sim.check();
  if (reports.empty()) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << reports.size() << " checker report(s):";
  for (const CheckReport& r : reports) failure << "\n  " << r.to_string();
  return failure;
}

}  // namespace mali_sim::testing
