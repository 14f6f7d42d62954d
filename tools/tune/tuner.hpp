// The tuner behind ellesmere-tune: enumerates an Impl's tunable space (ParamSpace values filtered by the Impl's
// check_params on the device), searches it (exhaustive, random sampling, annealing), verifies every candidate against
// the reference on a small problem before timing it with OpenCL events on the real one, and keeps a resumable log.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ellesmere/device.hpp"
#include "ops/impl.hpp"

namespace ellesmere::tune {

// What became of a candidate. Candidates check_params rejects are never built (they count in valid_candidates).
enum class Status {
  ok,             // verified and timed
  build_failed,   // the program did not compile with its defines
  launch_failed,  // an OpenCL error at launch or while running (CL_OUT_OF_RESOURCES, CL_INVALID_WORK_GROUP_SIZE ...)
  wrong,          // ran, but its output differs from the reference (or left elements unwritten)
};
const char* status_name(Status status) noexcept;

struct Timing {
  double median_us = 0;
  double min_us = 0;
  double max_us = 0;
  int samples = 0;
};

struct Evaluation {
  ops::Params params;
  Status status = Status::ok;
  Timing time;           // status ok only
  std::string reason;    // otherwise: why (one line)
  bool from_log = false; // read back from the log of an earlier, interrupted run
};

// The tuner's own log, one line per evaluated candidate, appended and flushed as soon as it is measured:
//   device impl problem status median_us min_us max_us samples PARAMS... [# reason]
// A run with the same log reuses the lines of its (device, Impl, problem) instead of measuring again, so a run
// stopped by Ctrl-C continues where it stopped and, with the same seed, takes the same path.
class TuneLog {
 public:
  explicit TuneLog(std::string path = {});   // "": keep nothing on disk
  const std::string& path() const { return path_; }
  // Reads the file if it exists; corrupt lines go to warnings ("path:line: why") and are skipped.
  void load();
  const Evaluation* find(const std::string& device, const std::string& impl, const std::string& problem,
                         const ops::Params& params) const;
  // Records e and appends its line (throws FileError when the file cannot be written).
  void append(const std::string& device, const std::string& impl, const std::string& problem, const Evaluation& e);
  std::size_t size() const { return entries_.size(); }
  const std::vector<std::string>& warnings() const { return warnings_; }

  static std::string format_line(const std::string& device, const std::string& impl, const std::string& problem,
                                 const Evaluation& e);

 private:
  static std::string key(const std::string& device, const std::string& impl, const std::string& problem,
                         const ops::Params& params);
  std::string path_;
  std::map<std::string, Evaluation> entries_;
  std::vector<std::string> warnings_;
};

enum class Strategy { automatic, exhaustive, random, anneal };
const char* strategy_name(Strategy strategy) noexcept;
Strategy parse_strategy(const std::string& text);   // throws InvalidArgument listing the choices

struct TuneOptions {
  Strategy strategy = Strategy::automatic;   // automatic: exhaustive when the valid space fits the budget, else a
                                             // random third of the budget, then annealing from the best of it
  int budget = 40;                           // candidates measured per (Impl, problem), the default Params included
  double time_limit_s = 0;                   // per (Impl, problem); 0: none
  int repeats = 5;                           // timed runs per candidate (after one warm-up); the median is kept
  std::uint64_t seed = 1;                    // random sampling and annealing; and the inputs
};

struct Progress {
  std::string impl, problem;
  int done = 0;            // candidates evaluated (log reuses included)
  int planned = 0;         // the budget, or the space when smaller
  double elapsed_s = 0;
  double eta_s = -1;       // < 0: unknown
  double best_us = 0;      // 0: none yet
  double baseline_us = 0;  // the Impl default's time, 0 when unknown
};

struct TuneResult {
  std::string device, impl, problem, verification_problem;
  std::string strategy;                  // the strategy that ran ("anneal", "exhaustive" ...)
  std::size_t space_size = 0;            // combinations of the ParamSpace's values
  std::size_t valid_size = 0;            // of those, valid on the device
  std::string baseline_invalid;          // non-empty: the Impl's defaults do not fit the device (why)
  std::vector<Evaluation> evaluations;   // in the order measured
  std::optional<Evaluation> best;        // fastest candidate that also passed verification on the full problem
  // The default and the best timed again, alternately in one loop, so their ratio is not skewed by drift between
  // the start and the end of the search (0 when there is no default or no best).
  double confirm_baseline_us = 0;
  double confirm_best_us = 0;
  double seconds = 0;
  bool interrupted = false;
  double speedup() const { return confirm_best_us > 0 && confirm_baseline_us > 0 ? confirm_baseline_us / confirm_best_us : 0; }
  std::size_t count(Status status) const;
};

// The Impl's space as full Params sets: every combination of its ParamSpace values that check_params accepts on
// device, in a deterministic order, the defaults first when valid. total receives the number of combinations.
std::vector<ops::Params> valid_candidates(const ops::ImplBase& impl, const DeviceInfo& device, std::size_t* total = nullptr);

// Set by the Ctrl-C handler of ellesmere-tune: the tuner finishes the candidate it is measuring, then stops.
std::atomic<bool>& interrupt_requested();

class Tuner {
 public:
  Tuner(Context& context, TuneOptions options, TuneLog& log, std::function<void(const Progress&)> progress = {});
  // Tunes impl on problem. Throws NotSupported when impl cannot run the problem (with the Impl's reason) or the op
  // has no harness; InvalidArgument when the Impl has no tunable parameters.
  TuneResult tune(const ops::ImplBase& impl, const std::string& problem);

 private:
  Context& context_;
  TuneOptions options_;
  TuneLog& log_;
  std::function<void(const Progress&)> progress_;
};

// Appends the result's best Params to the tuning database file at path (created with its directory if needed), after
// a comment line saying when, how, how many candidates and the speedup over the default. Throws FileError when the
// file cannot be written. Does nothing when there is no best.
void append_to_database(const std::string& path, const TuneResult& result);

}  // namespace ellesmere::tune
