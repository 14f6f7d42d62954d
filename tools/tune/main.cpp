// ellesmere-tune: searches Impls' tunable parameters on the device at hand and appends the best per (device, Impl,
// problem) to the user's tuning database. Every candidate is verified against the reference on a small problem, then
// timed with OpenCL events on the real one; build and launch failures are skipped with their reason. Ctrl-C stops
// after the candidate being measured; the same command resumes from the log. Errors exit 1, Ctrl-C exits 130.
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <set>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ellesmere/device.hpp"
#include "ellesmere/error.hpp"
#include "harness.hpp"
#include "ops/impl_registry.hpp"
#include "ops/problem_text.hpp"
#include "reference/reference.hpp"
#include "runtime/env.hpp"
#include "tuner.hpp"
#include "tuning/tuning_db.hpp"

namespace {

using namespace ellesmere;

extern "C" void on_interrupt(int) {
  tune::interrupt_requested().store(true);
  std::signal(SIGINT, SIG_DFL);   // a second Ctrl-C ends the process at once
}

std::string duration(double s) {
  if (s < 0) return "?";
  const int t = int(s + 0.5);
  return t >= 3600 ? fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60) : fmt::format("{}:{:02}", t / 60, t % 60);
}

std::string time_text(double us) {
  if (us <= 0) return "-";
  return us >= 1000 ? fmt::format("{:.2f} ms", us / 1000) : fmt::format("{:.1f} us", us);
}

// A progress bar on a terminal; otherwise a line every 10 candidates (logs stay readable).
class ProgressBar {
 public:
  ProgressBar() : tty_(isatty(fileno(stderr)) != 0) {}
  void operator()(const tune::Progress& p) {
    const std::string best = p.best_us > 0 ? time_text(p.best_us) : "-";
    const std::string gain = p.best_us > 0 && p.baseline_us > 0 ? fmt::format(" ({:.2f}x default)", p.baseline_us / p.best_us) : "";
    if (tty_) {
      const int width = 24;
      const int filled = p.planned > 0 ? std::min(width, p.done * width / p.planned) : 0;
      std::cerr << fmt::format("\r  [{}{}] {}/{} best {}{} elapsed {} ETA {}   ", std::string(std::size_t(filled), '#'),
                               std::string(std::size_t(width - filled), '.'), p.done, p.planned, best, gain,
                               duration(p.elapsed_s), duration(p.eta_s))
                << std::flush;
      open_ = true;
    } else if (p.done % 10 == 0 || p.done == p.planned) {
      std::cerr << fmt::format("  {}/{} candidates, best {}{}, elapsed {}, ETA {}\n", p.done, p.planned, best, gain,
                               duration(p.elapsed_s), duration(p.eta_s));
    }
  }
  void end_line() {
    if (open_) std::cerr << '\n';
    open_ = false;
  }

 private:
  bool tty_;
  bool open_ = false;
};

std::vector<std::string> read_problems(const std::string& path, const std::string& tag) {
  const auto lines = reference::read_problem_file(path);
  const bool tagged = std::any_of(lines.begin(), lines.end(), [](const auto& l) { return !l.tags.empty(); });
  std::vector<std::string> out;
  for (const auto& l : lines) {
    if (!tagged || l.has(tag)) out.push_back(l.problem);
  }
  if (out.empty()) throw FileError(path, tagged ? fmt::format("no problem carries the tag \"{}\"", tag) : "no problems");
  return out;
}

void print_space(const ops::ImplBase& impl, const DeviceInfo& device) {
  std::size_t total = 0;
  const auto valid = tune::valid_candidates(impl, device, &total);
  std::cout << fmt::format("{} ({}): {} combinations, {} valid on {}\n", impl.name(), impl.op(), total, valid.size(),
                           device.name);
  for (const auto& d : impl.space().params) {
    std::cout << fmt::format("  {:<7} default {:<4} values {:<32} {}\n", d.name, d.default_value,
                             fmt::format("{}", fmt::join(d.values, ",")), d.doc);
  }
  if (std::string why = impl.check_params(impl.space().defaults(), device); !why.empty()) {
    std::cout << "  (the defaults do not fit this device: " << why << ")\n";
  }
}

nlohmann::json to_json(const tune::TuneResult& r) {
  nlohmann::json j{{"device", r.device}, {"impl", r.impl}, {"problem", r.problem},
                   {"verification_problem", r.verification_problem}, {"strategy", r.strategy},
                   {"space_size", r.space_size}, {"valid_size", r.valid_size}, {"seconds", r.seconds},
                   {"interrupted", r.interrupted}, {"default_us", r.confirm_baseline_us},
                   {"best_us", r.confirm_best_us}, {"speedup", r.speedup()}};
  if (!r.baseline_invalid.empty()) j["default_invalid"] = r.baseline_invalid;
  if (r.best) j["best_params"] = r.best->params.str();
  nlohmann::json evals = nlohmann::json::array();
  for (const auto& e : r.evaluations) {
    evals.push_back({{"params", e.params.str()}, {"status", tune::status_name(e.status)},
                     {"median_us", e.time.median_us}, {"min_us", e.time.min_us}, {"max_us", e.time.max_us},
                     {"samples", e.time.samples}, {"reason", e.reason}, {"from_log", e.from_log}});
  }
  j["candidates"] = evals;
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ellesmere-tune: search kernel parameters on this device and store the best in the tuning database"};
  std::string device, problems_file, tag = "tune", db_path, log_path, json_path, strategy = "auto";
  std::vector<std::string> impls, op_names, problems;
  tune::TuneOptions options;
  bool no_db = false, fresh = false, list = false, verbose = false, all_impls = false;
  app.add_option("--device", device, "Device: index or name substring (default: ELLESMERE_DEVICE, else the first GPU)");
  app.add_option("--impl", impls, "Impl to tune (repeatable)");
  app.add_option("--op", op_names, "Tune, per problem, the Impl this op's dispatch runs on it (repeatable), e.g. gemm_i8");
  app.add_flag("--all-impls", all_impls, "With --op: every Impl that can run the problem, not only dispatch's choice");
  app.add_option("--problems", problems_file, "Problem file: one canonical problem per line, optional tags");
  app.add_option("--tag", tag, "With --problems: the problems carrying this tag, when the file has tags")->capture_default_str();
  app.add_option("--problem", problems, "A canonical problem, e.g. gemm_i8:m1n4096k4096 (repeatable)");
  app.add_option("--strategy", strategy, "auto | exhaustive | random | anneal")->capture_default_str();
  app.add_option("--budget", options.budget, "Candidates measured per (Impl, problem), the default included")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--time-limit", options.time_limit_s, "Seconds per (Impl, problem); 0: none")->capture_default_str();
  app.add_option("--repeats", options.repeats, "Timed runs per candidate after a warm-up (median kept)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--seed", options.seed, "Seed of the search and of the inputs")->capture_default_str();
  app.add_option("--db", db_path, "Database file the results are appended to (default: the user's, "
                                  "ELLESMERE_TUNING_DB or <config dir>/tuning.txt)");
  app.add_flag("--no-db", no_db, "Do not write the database (report only)");
  app.add_option("--log", log_path, "The tuner's log, read back to resume (default: <cache dir>/tune-<device>.log)");
  app.add_flag("--fresh", fresh, "Start the log afresh instead of reusing its measurements");
  app.add_option("--json", json_path, "Write every candidate and result as JSON");
  app.add_flag("--list", list, "Print the tunable space of the Impls and exit");
  app.add_flag("-v,--verbose", verbose, "Print every candidate as it is measured");
  CLI11_PARSE(app, argc, argv);

  try {
    options.strategy = tune::parse_strategy(strategy);

    std::vector<const ops::ImplBase*> chosen;
    std::set<const ops::ImplBase*> by_op;   // from --op: tuned only where dispatch would run them (unless --all-impls)
    for (const auto& name : impls) {
      const ops::ImplBase* impl = ops::find_impl(name);
      if (!impl) {
        std::string known;
        for (const auto* i : ops::all_impls()) {
          if (!i->space().params.empty()) known += (known.empty() ? "" : ", ") + i->name();
        }
        throw InvalidArgument(fmt::format("no Impl named \"{}\" (tunable Impls: {})", name, known));
      }
      chosen.push_back(impl);
    }
    for (const auto& op : op_names) {
      bool any = false;
      for (const auto* i : ops::all_impls()) {
        if (i->op() == op && !i->space().params.empty()) chosen.push_back(i), by_op.insert(i), any = true;
      }
      if (!any) throw InvalidArgument(fmt::format("no Impl with parameters runs op \"{}\"", op));
    }
    // Arguments are checked before a device is opened, so a typo fails at once.
    if (!list) {
      if (chosen.empty()) throw InvalidArgument("name what to tune: --impl NAME or --op OP (see --list)");
      if (!problems_file.empty()) {
        for (auto& p : read_problems(problems_file, tag)) problems.push_back(p);
      }
      if (problems.empty()) throw InvalidArgument("name the problems: --problem TEXT or --problems FILE");
      for (const auto& p : problems) tune::verification_problem(p);   // the op's own parser: names a bad problem
    }
    Context ctx(device);
    const DeviceInfo& dev = ctx.device();
    if (list) {
      if (chosen.empty()) chosen = ops::all_impls();
      for (const auto* impl : chosen) {
        if (!impl->space().params.empty()) print_space(*impl, dev);
      }
      return 0;
    }

    if (db_path.empty()) db_path = tuning::TuningDb::user_file_path();
    if (log_path.empty()) log_path = runtime::cache_dir() + "/tune-" + dev.key + ".log";
    if (fresh) std::filesystem::remove(log_path);
    tune::TuneLog log(log_path);
    log.load();
    for (const auto& w : log.warnings()) std::cerr << "ellesmere-tune: warning: " << w << '\n';
    std::cerr << fmt::format("ellesmere-tune on {} ({}; {}), log {}{}\n", dev.key, dev.name, dev.driver_version,
                             log_path, log.size() ? fmt::format(" ({} measurements reused)", log.size()) : "");

    std::signal(SIGINT, on_interrupt);
    ProgressBar bar;
    std::function<void(const tune::Progress&)> progress = [&](const tune::Progress& p) { bar(p); };
    tune::Tuner tuner(ctx, options, log, progress);

    std::vector<tune::TuneResult> results;
    std::vector<std::string> skipped;
    int failures = 0, written = 0;
    for (const auto& problem : problems) {
      const std::string op = ops::ProblemText::parse(problem).op;
      std::string dispatched;
      if (!by_op.empty() && !all_impls) {
        try {
          dispatched = tune::dispatch_choice(ctx, problem);
        } catch (const Error&) {
          // no harness for the op, or no Impl applies: each Impl's tune() below says why
        }
      }
      for (const auto* impl : chosen) {
        if (impl->op() != op) continue;
        if (tune::interrupt_requested()) break;
        if (by_op.count(impl) && !dispatched.empty() && impl->name() != dispatched &&
            std::find(impls.begin(), impls.end(), impl->name()) == impls.end()) {
          continue;   // dispatch runs another Impl on this problem: its Params would never be used
        }
        std::cerr << fmt::format("{} {}\n", impl->name(), problem);
        try {
          tune::TuneResult r = tuner.tune(*impl, problem);
          bar.end_line();
          if (verbose) {
            for (const auto& e : r.evaluations) {
              std::cerr << fmt::format("    {:<13} {:>10}  {}{}{}\n", tune::status_name(e.status), time_text(e.time.median_us),
                                       e.params.str(), e.reason.empty() ? "" : "  # " + e.reason, e.from_log ? " (log)" : "");
            }
          }
          for (const auto& e : r.evaluations) {
            if (e.status != tune::Status::ok && !verbose) {
              std::cerr << fmt::format("    rejected {} ({}): {}\n", e.params.str(), tune::status_name(e.status), e.reason);
            }
          }
          if (r.interrupted) {
            std::cerr << fmt::format("ellesmere-tune: interrupted; {} measurements are in {}: run the same command to "
                                     "resume\n", log.size(), log_path);
            results.push_back(std::move(r));
            break;
          }
          if (!r.best) {
            std::cerr << "    no candidate passed verification\n";
            ++failures;
          } else if (!no_db) {
            tune::append_to_database(db_path, r);
            ++written;
          }
          results.push_back(std::move(r));
        } catch (const NotSupported& e) {
          bar.end_line();
          skipped.push_back(fmt::format("{} {}: {}", impl->name(), problem, e.what()));
          std::cerr << "    skipped: " << e.what() << '\n';
        } catch (const InvalidArgument& e) {
          bar.end_line();
          skipped.push_back(fmt::format("{} {}: {}", impl->name(), problem, e.what()));
          std::cerr << "    skipped: " << e.what() << '\n';
        }
      }
      if (tune::interrupt_requested()) break;
    }

    std::cout << fmt::format("\nTuned on {} ({}), {} strategy, budget {}, {} repeats\n", dev.key, dev.name, strategy,
                             options.budget, options.repeats);
    std::cout << fmt::format("{:<16} {:<34} {:>5} {:>5} {:>5} {:>5} {:>11} {:>11} {:>7} {:>6}  {}\n", "impl", "problem",
                             "tried", "wrong", "build", "run", "default", "best", "speedup", "time", "best params");
    for (const auto& r : results) {
      std::cout << fmt::format("{:<16} {:<34} {:>5} {:>5} {:>5} {:>5} {:>11} {:>11} {:>7} {:>6}  {}\n", r.impl, r.problem,
                               r.evaluations.size(), r.count(tune::Status::wrong), r.count(tune::Status::build_failed),
                               r.count(tune::Status::launch_failed),
                               r.baseline_invalid.empty() ? time_text(r.confirm_baseline_us) : "invalid",
                               time_text(r.confirm_best_us > 0 ? r.confirm_best_us : (r.best ? r.best->time.median_us : 0)),
                               r.speedup() > 0 ? fmt::format("{:.2f}x", r.speedup()) : "-", duration(r.seconds),
                               r.best ? r.best->params.str() : (r.interrupted ? "(interrupted)" : "(none verified)"));
    }
    for (const auto& s : skipped) std::cout << "skipped: " << s << '\n';
    if (written > 0) std::cout << fmt::format("{} entr{} appended to {}\n", written, written == 1 ? "y" : "ies", db_path);
    if (!json_path.empty()) {
      nlohmann::json j{{"device", dev.key}, {"device_name", dev.name}, {"driver", dev.driver_version},
                       {"strategy", strategy}, {"budget", options.budget}, {"repeats", options.repeats},
                       {"skipped", skipped}};
      j["results"] = nlohmann::json::array();
      for (const auto& r : results) j["results"].push_back(to_json(r));
      std::ofstream out(json_path);
      out << j.dump(2) << '\n';
      if (!out) throw FileError(json_path, "cannot be written");
    }
    if (tune::interrupt_requested()) return 130;
    if (results.empty()) {
      std::cerr << "ellesmere-tune: error: nothing was tuned (every Impl/problem pair was skipped)\n";
      return 1;
    }
    return failures > 0 ? 1 : 0;
  } catch (const Error& e) {
    std::cerr << "ellesmere-tune: error: " << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "ellesmere-tune: internal error: " << e.what() << '\n';
    return 2;
  }
}
