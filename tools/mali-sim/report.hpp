// What a run produced, as JSON a script can read and as a summary a person can read.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "mali_sim/sim/engine.hpp"

namespace mali_sim::cli {

// Every resolved parameter and every result. Deterministic: no wall-clock values.
nlohmann::ordered_json run_json(const Engine& engine, const std::string& trace_path);
// The results object alone (also used by compare).
nlohmann::ordered_json results_json(const Engine& engine);
std::string summary(const Engine& engine, double wall_seconds);
// The checker's reports: counts by detector and every kept report; a summary listing up to
// max_listed of them.
nlohmann::ordered_json check_json(const Checker& checker);
std::string check_summary(const Checker& checker, std::size_t max_listed);
// CSV header and row for the time series.
std::string sample_csv_header();
std::string sample_csv_row(const Sample& s, const Engine& engine);

}  // namespace mali_sim::cli
