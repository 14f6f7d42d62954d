// The tuner: space enumeration, search strategies, verification and event timing of candidates, the resumable log
// and the database output (see tuner.hpp).
#include "tuner.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "harness.hpp"
#include "ops/problem_text.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere::tune {

const char* status_name(Status status) noexcept {
  switch (status) {
    case Status::ok: return "ok";
    case Status::build_failed: return "build_failed";
    case Status::launch_failed: return "launch_failed";
    default: return "wrong";
  }
}

namespace {

std::optional<Status> parse_status(std::string_view s) {
  for (Status st : {Status::ok, Status::build_failed, Status::launch_failed, Status::wrong}) {
    if (s == status_name(st)) return st;
  }
  return std::nullopt;
}

// One line, at most 200 characters: reasons go into single log lines and the summary.
std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '#', ' ');
  if (s.size() > 200) s = s.substr(0, 197) + "...";
  return s;
}

double to_double(const std::string& s, const char* what) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || !std::isfinite(v) || v < 0) {
    throw InvalidArgument(fmt::format("{} \"{}\" is not a non-negative number", what, s));
  }
  return v;
}

}  // namespace

const char* strategy_name(Strategy strategy) noexcept {
  switch (strategy) {
    case Strategy::automatic: return "auto";
    case Strategy::exhaustive: return "exhaustive";
    case Strategy::random: return "random";
    default: return "anneal";
  }
}

Strategy parse_strategy(const std::string& text) {
  for (Strategy s : {Strategy::automatic, Strategy::exhaustive, Strategy::random, Strategy::anneal}) {
    if (text == strategy_name(s)) return s;
  }
  throw InvalidArgument(fmt::format("unknown strategy \"{}\" (choose auto, exhaustive, random or anneal)", text));
}

std::size_t TuneResult::count(Status status) const {
  return std::size_t(std::count_if(evaluations.begin(), evaluations.end(),
                                   [&](const Evaluation& e) { return e.status == status; }));
}

// ---- log ----

TuneLog::TuneLog(std::string path) : path_(std::move(path)) {}

std::string TuneLog::key(const std::string& device, const std::string& impl, const std::string& problem,
                         const ops::Params& params) {
  return device + ' ' + impl + ' ' + problem + ' ' + params.str();
}

std::string TuneLog::format_line(const std::string& device, const std::string& impl, const std::string& problem,
                                 const Evaluation& e) {
  std::string line = fmt::format("{} {} {} {} {:.1f} {:.1f} {:.1f} {} {}", device, impl, problem, status_name(e.status),
                                 e.time.median_us, e.time.min_us, e.time.max_us, e.time.samples, e.params.str());
  if (!e.reason.empty()) line += " # " + one_line(e.reason);
  return line;
}

void TuneLog::load() {
  if (path_.empty()) return;
  std::ifstream in(path_);
  if (!in) return;   // no log yet: a fresh run
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string reason;
    if (auto hash = line.find('#'); hash != std::string::npos) {
      reason = line.substr(hash + 1);
      reason.erase(0, reason.find_first_not_of(' '));
      line.erase(hash);
    }
    std::istringstream fields(line);
    std::vector<std::string> t;
    for (std::string s; fields >> s;) t.push_back(s);
    if (t.empty()) continue;
    try {
      if (t.size() < 8) throw InvalidArgument(fmt::format("expected at least 8 fields, got {}", t.size()));
      ops::ProblemText::parse(t[2]);
      Evaluation e;
      auto status = parse_status(t[3]);
      if (!status) throw InvalidArgument(fmt::format("unknown status \"{}\"", t[3]));
      e.status = *status;
      e.time.median_us = to_double(t[4], "median_us");
      e.time.min_us = to_double(t[5], "min_us");
      e.time.max_us = to_double(t[6], "max_us");
      e.time.samples = int(to_double(t[7], "samples"));
      std::string params;
      for (std::size_t i = 8; i < t.size(); ++i) params += t[i] + ' ';
      e.params = ops::Params::parse(params);
      if (e.status == Status::ok && (e.time.samples < 1 || e.time.median_us <= 0)) {
        throw InvalidArgument("an ok line needs a positive time and at least one sample");
      }
      e.reason = reason;
      e.from_log = true;
      entries_[key(t[0], t[1], t[2], e.params)] = std::move(e);
    } catch (const Error& err) {
      warnings_.push_back(fmt::format("{}:{}: skipped: {}", path_, number, err.what()));
    }
  }
}

const Evaluation* TuneLog::find(const std::string& device, const std::string& impl, const std::string& problem,
                                const ops::Params& params) const {
  auto it = entries_.find(key(device, impl, problem, params));
  return it == entries_.end() ? nullptr : &it->second;
}

void TuneLog::append(const std::string& device, const std::string& impl, const std::string& problem,
                     const Evaluation& e) {
  entries_[key(device, impl, problem, e.params)] = e;
  if (path_.empty()) return;
  std::error_code ec;
  if (auto dir = std::filesystem::path(path_).parent_path(); !dir.empty()) std::filesystem::create_directories(dir, ec);
  std::ofstream out(path_, std::ios::app);
  out << format_line(device, impl, problem, e) << '\n';
  out.flush();
  if (!out) throw FileError(path_, "cannot append to the tuner's log");
}

// ---- space ----

std::vector<ops::Params> valid_candidates(const ops::ImplBase& impl, const DeviceInfo& device, std::size_t* total) {
  const ops::ParamSpace space = impl.space();
  std::size_t combinations = 1;
  for (const auto& d : space.params) combinations *= std::max<std::size_t>(d.values.size(), 1);
  if (total) *total = combinations;
  auto valid = [&](const ops::Params& p) {
    try {
      return impl.check_params(p, device).empty();
    } catch (const Error&) {
      return false;
    }
  };
  std::vector<ops::Params> out;
  const ops::Params defaults = space.defaults();
  if (valid(defaults)) out.push_back(defaults);
  constexpr std::size_t kLimit = 1'000'000;   // every space we have is far smaller; beyond this, sample
  std::mt19937_64 gen(12345);
  std::vector<std::size_t> index(space.params.size(), 0);
  for (std::size_t n = 0; n < std::min(combinations, kLimit); ++n) {
    ops::Params p;
    if (combinations <= kLimit) {
      std::size_t rest = n;
      for (const auto& d : space.params) {
        const std::size_t count = std::max<std::size_t>(d.values.size(), 1);
        p.set(d.name, d.values.empty() ? d.default_value : d.values[rest % count]);
        rest /= count;
      }
    } else {
      for (const auto& d : space.params) {
        p.set(d.name, d.values.empty() ? d.default_value : d.values[gen() % d.values.size()]);
      }
    }
    if (p != defaults && valid(p)) out.push_back(std::move(p));
  }
  // A sampled space may repeat combinations.
  std::set<std::string> seen;
  std::erase_if(out, [&](const ops::Params& p) { return !seen.insert(p.str()).second; });
  return out;
}

std::atomic<bool>& interrupt_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

// ---- search ----

namespace {

struct Stop {};   // budget, time limit or Ctrl-C

class Search {
 public:
  using Clock = std::chrono::steady_clock;

  Search(Context& ctx, const TuneOptions& options, TuneLog& log, const std::function<void(const Progress&)>& progress,
         const ops::ImplBase& impl, Harness& verify, Harness& timed, TuneResult& result,
         const std::vector<ops::Params>& candidates)
      : ctx_(ctx), options_(options), log_(log), progress_(progress), impl_(impl), verify_(verify), timed_(timed),
        result_(result), candidates_(candidates), start_(Clock::now()) {
    planned_ = int(std::min<std::size_t>(candidates.size(), std::size_t(std::max(options.budget, 1))));
    if (options.strategy == Strategy::exhaustive) planned_ = int(candidates.size());
  }

  // Time in microseconds (+inf when the candidate failed); throws Stop when no further candidate may be measured.
  double evaluate(const ops::Params& params) {
    if (auto it = done_.find(params.str()); it != done_.end()) return it->second;
    if (interrupt_requested().load()) {
      result_.interrupted = true;
      throw Stop{};
    }
    if (int(done_.size()) >= planned_) throw Stop{};
    if (options_.time_limit_s > 0 && elapsed() > options_.time_limit_s) throw Stop{};
    Evaluation e;
    if (const Evaluation* logged = log_.find(result_.device, impl_.name(), result_.problem, params)) {
      e = *logged;
    } else {
      e = measure(params);
      log_.append(result_.device, impl_.name(), result_.problem, e);
    }
    const double t = e.status == Status::ok ? e.time.median_us : std::numeric_limits<double>::infinity();
    if (e.status == Status::ok && (best_us_ == 0 || t < best_us_)) best_us_ = t;
    if (params == impl_.space().defaults() && e.status == Status::ok) baseline_us_ = t;
    result_.evaluations.push_back(std::move(e));
    done_[params.str()] = t;
    report();
    return t;
  }

  bool evaluated(const ops::Params& p) const { return done_.count(p.str()) > 0; }
  int done() const { return int(done_.size()); }
  int planned() const { return planned_; }
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  // One timing of impl with params on the timed harness: the launch's event span, in microseconds.
  double time_once(const ops::Params& params) { return timed_.run(impl_, params).span_ns() * 1e-3; }

 private:
  Evaluation measure(const ops::Params& params) {
    Evaluation e;
    e.params = params;
    try {
      verify_.poison();
      verify_.run(impl_, params).wait();
      if (std::string why = verify_.check(); !why.empty()) {
        e.status = Status::wrong;
        e.reason = fmt::format("on {}: {}", verify_.problem(), why);
        return e;
      }
      timed_.run(impl_, params).wait();   // warm-up: program load, PoCL's per-local-size compile, first touch
      std::vector<double> samples;
      for (int i = 0; i < std::max(options_.repeats, 1); ++i) {
        samples.push_back(time_once(params));
        // A candidate several times slower than the best so far will not win: one sample says so.
        if (i == 0 && best_us_ > 0 && samples[0] > 3 * best_us_) break;
      }
      std::sort(samples.begin(), samples.end());
      const std::size_t n = samples.size();
      e.time.median_us = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
      e.time.min_us = samples.front();
      e.time.max_us = samples.back();
      e.time.samples = int(n);
    } catch (const BuildError& err) {
      e.status = Status::build_failed;
      std::string log = err.log();
      e.reason = log.empty() ? err.what() : log.substr(0, log.find('\n'));
    } catch (const Error& err) {
      e.status = Status::launch_failed;
      e.reason = err.what();
      ctx_.finish();
    }
    return e;
  }

  void report() {
    if (!progress_) return;
    Progress p;
    p.impl = impl_.name();
    p.problem = result_.problem;
    p.done = done();
    p.planned = planned_;
    p.elapsed_s = elapsed();
    const int remaining = planned_ - p.done;
    double eta = p.done > 0 ? p.elapsed_s / p.done * remaining : -1;
    if (options_.time_limit_s > 0) eta = std::min(eta < 0 ? options_.time_limit_s : eta, options_.time_limit_s - p.elapsed_s);
    p.eta_s = std::max(eta, 0.0);
    p.best_us = best_us_;
    p.baseline_us = baseline_us_;
    progress_(p);
  }

  Context& ctx_;
  const TuneOptions& options_;
  TuneLog& log_;
  const std::function<void(const Progress&)>& progress_;
  const ops::ImplBase& impl_;
  Harness& verify_;
  Harness& timed_;
  TuneResult& result_;
  const std::vector<ops::Params>& candidates_;
  Clock::time_point start_;
  int planned_ = 0;
  std::map<std::string, double> done_;
  double best_us_ = 0;
  double baseline_us_ = 0;
};

// Neighbours of p: one parameter moved to the next smaller or larger of its listed values, kept when valid.
std::vector<ops::Params> neighbours(const ops::ParamSpace& space, const ops::Params& p,
                                    const std::set<std::string>& valid) {
  std::vector<ops::Params> out;
  for (const auto& d : space.params) {
    std::vector<int> values = d.values;
    std::sort(values.begin(), values.end());
    const auto at = std::find(values.begin(), values.end(), p.get(d.name));
    if (at == values.end()) continue;
    for (int step : {-1, 1}) {
      const auto i = (at - values.begin()) + step;
      if (i < 0 || i >= std::ptrdiff_t(values.size())) continue;
      ops::Params q = p;
      q.set(d.name, values[std::size_t(i)]);
      if (valid.count(q.str())) out.push_back(std::move(q));
    }
  }
  return out;
}

void run_random(Search& s, const std::vector<ops::Params>& candidates, int count, std::mt19937_64& gen) {
  std::vector<std::size_t> order(candidates.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), gen);
  int measured = 0;
  for (std::size_t i : order) {
    if (measured >= count) break;
    if (s.evaluated(candidates[i])) continue;
    s.evaluate(candidates[i]);
    ++measured;
  }
}

// Simulated annealing on log(time): from the best point so far, move to a random unmeasured neighbour; accept a
// slower one with probability exp(-log(t_new / t_cur) / T), T cooling linearly; restart at a random unmeasured point
// when every neighbour has been measured.
void run_anneal(Search& s, const ops::ImplBase& impl, const std::vector<ops::Params>& candidates,
                const ops::Params& start, double start_us, std::mt19937_64& gen) {
  const ops::ParamSpace space = impl.space();
  std::set<std::string> valid;
  for (const auto& p : candidates) valid.insert(p.str());
  ops::Params current = start;
  double current_us = start_us;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  while (true) {
    std::vector<ops::Params> next = neighbours(space, current, valid);
    std::erase_if(next, [&](const ops::Params& p) { return s.evaluated(p); });
    if (next.empty()) {
      std::vector<const ops::Params*> open;
      for (const auto& p : candidates) {
        if (!s.evaluated(p)) open.push_back(&p);
      }
      if (open.empty()) return;
      current = *open[gen() % open.size()];
      current_us = s.evaluate(current);
      continue;
    }
    const ops::Params& cand = next[gen() % next.size()];
    const double t = s.evaluate(cand);
    const double temperature = std::max(0.02, 0.3 * (1.0 - double(s.done()) / std::max(s.planned(), 1)));
    const bool better = t < current_us;
    if (better || (std::isfinite(t) && uniform(gen) < std::exp(-std::log(t / current_us) / temperature))) {
      current = cand;
      current_us = t;
    }
  }
}

}  // namespace

Tuner::Tuner(Context& context, TuneOptions options, TuneLog& log, std::function<void(const Progress&)> progress)
    : context_(context), options_(options), log_(log), progress_(std::move(progress)) {}

TuneResult Tuner::tune(const ops::ImplBase& impl, const std::string& problem_in) {
  const auto start = std::chrono::steady_clock::now();
  TuneResult result;
  result.device = context_.device().key;
  result.impl = impl.name();
  result.problem = problem_in;
  if (impl.space().params.empty()) {
    throw InvalidArgument(fmt::format("{} has no tunable parameters (nothing to tune)", impl.name()));
  }
  result.verification_problem = verification_problem(problem_in);
  auto timed = make_harness(context_, problem_in, options_.seed);
  if (std::string why = timed->applicable(impl); !why.empty()) {
    throw NotSupported(fmt::format("{} cannot run {}: {}", impl.name(), problem_in, why));
  }
  auto verify = result.verification_problem == problem_in
                    ? make_harness(context_, problem_in, options_.seed + 100)
                    : make_harness(context_, result.verification_problem, options_.seed + 100);
  if (std::string why = verify->applicable(impl); !why.empty()) {
    throw NotSupported(fmt::format("{} cannot run the verification problem {}: {}", impl.name(),
                                   result.verification_problem, why));
  }

  const std::vector<ops::Params> candidates = valid_candidates(impl, context_.device(), &result.space_size);
  result.valid_size = candidates.size();
  const ops::Params defaults = impl.space().defaults();
  result.baseline_invalid = impl.check_params(defaults, context_.device());
  if (candidates.empty()) {
    throw NotSupported(fmt::format("{}: none of the {} combinations of its parameters is valid on {}", impl.name(),
                                   result.space_size, context_.device().name));
  }

  Strategy strategy = options_.strategy;
  if (strategy == Strategy::automatic) {
    strategy = candidates.size() <= std::size_t(std::max(options_.budget, 1)) ? Strategy::exhaustive : Strategy::anneal;
  }
  result.strategy = strategy_name(strategy);
  TuneOptions effective = options_;
  effective.strategy = strategy;
  Search search(context_, effective, log_, progress_, impl, *verify, *timed, result, candidates);
  std::mt19937_64 gen(options_.seed);
  try {
    // The default first: the baseline every speedup is quoted against.
    double best_us = result.baseline_invalid.empty() ? search.evaluate(defaults) : std::numeric_limits<double>::infinity();
    // Then what the database gives this problem now (an earlier tuning, a shipped entry, the nearest problem's):
    // a search never ends below the Params already in use.
    const tuning::Lookup current = tuning::TuningDb::global().lookup(context_.device(), impl, problem_in);
    if (current.entry && current.params != defaults && impl.check_params(current.params, context_.device()).empty()) {
      best_us = std::min(best_us, search.evaluate(current.params));
    }
    if (strategy == Strategy::exhaustive) {
      for (const auto& p : candidates) search.evaluate(p);
    } else if (strategy == Strategy::random) {
      run_random(search, candidates, search.planned(), gen);
    } else {
      // Anneal (as asked, or automatic on a large space): a random third of the budget to find a good start, then
      // local moves from the best of it.
      if (options_.strategy == Strategy::automatic) run_random(search, candidates, std::max(1, search.planned() / 3), gen);
      ops::Params from = defaults;
      for (const auto& e : result.evaluations) {
        if (e.status == Status::ok && e.time.median_us < best_us) best_us = e.time.median_us, from = e.params;
      }
      if (!std::isfinite(best_us)) {
        from = candidates[gen() % candidates.size()];
        best_us = search.evaluate(from);
      }
      run_anneal(search, impl, candidates, from, best_us, gen);
    }
  } catch (const Stop&) {
  }

  // The fastest candidates, verified on the full problem before one is kept (a variant may be right on the small
  // problem and wrong at full size).
  std::vector<const Evaluation*> ranked;
  for (const auto& e : result.evaluations) {
    if (e.status == Status::ok) ranked.push_back(&e);
  }
  std::sort(ranked.begin(), ranked.end(),
            [](const Evaluation* a, const Evaluation* b) { return a->time.median_us < b->time.median_us; });
  std::vector<Evaluation> rejected_full;
  for (const Evaluation* e : ranked) {
    if (result.interrupted) break;
    std::string why;
    try {
      timed->poison();
      timed->run(impl, e->params).wait();
      why = timed->check();
    } catch (const Error& err) {
      why = err.what();
    }
    if (why.empty()) {
      result.best = *e;
      break;
    }
    Evaluation bad = *e;
    bad.status = Status::wrong;
    bad.reason = fmt::format("on the full problem {}: {}", problem_in, why);
    bad.from_log = false;
    log_.append(result.device, impl.name(), problem_in, bad);
    rejected_full.push_back(std::move(bad));
    if (rejected_full.size() >= 3) break;
  }
  for (auto& bad : rejected_full) {
    for (auto& e : result.evaluations) {
      if (e.params == bad.params) e = bad;
    }
  }

  // Default and best timed alternately, so the quoted speedup compares like with like.
  if (result.best && result.baseline_invalid.empty() && !result.interrupted) {
    std::vector<double> base, best;
    try {
      for (int i = 0; i < std::max(options_.repeats, 3); ++i) {
        base.push_back(search.time_once(defaults));
        best.push_back(search.time_once(result.best->params));
      }
      auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
      };
      result.confirm_baseline_us = median(base);
      result.confirm_best_us = median(best);
    } catch (const Error&) {
      // The default failed to run (it was measured as failing above too): no ratio.
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

void append_to_database(const std::string& path, const TuneResult& r) {
  if (!r.best) return;
  namespace fs = std::filesystem;
  std::error_code ec;
  if (auto dir = fs::path(path).parent_path(); !dir.empty()) fs::create_directories(dir, ec);
  const std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d", std::localtime(&now));
  std::string vs_default = r.speedup() > 0 ? fmt::format("{:.2f}x the Impl default ({:.1f} us, same loop)", r.speedup(),
                                                         r.confirm_baseline_us)
                           : !r.baseline_invalid.empty() ? "the Impl default does not fit this device"
                                                         : "the Impl default could not be timed";
  tuning::TuningEntry entry;
  entry.device = r.device;
  entry.impl = r.impl;
  entry.problem = r.problem;
  entry.params = r.best->params;
  entry.time_us = r.confirm_best_us > 0 ? r.confirm_best_us : r.best->time.median_us;
  std::string text = fmt::format("# ellesmere-tune {}: {} of {} valid candidates ({}), {} wrong, {} failed to build, "
                                 "{} failed to run; {}\n",
                                 date, r.evaluations.size(), r.valid_size, r.strategy, r.count(Status::wrong),
                                 r.count(Status::build_failed), r.count(Status::launch_failed), vs_default);
  text += tuning::format_entry(entry) + '\n';

  // One write of the whole text; if it fails part-way the file is cut back to its old size, so an unwritable or
  // full disk never leaves half a line behind (or glues our line to the user's last one).
  if (fs::is_directory(path, ec)) throw FileError(path, "cannot append to the tuning database: it is a directory");
  const bool existed = fs::exists(path, ec);
  const std::uintmax_t old_size = existed ? fs::file_size(path, ec) : 0;
  if (existed && old_size > 0) {
    std::ifstream in(path, std::ios::binary);
    in.seekg(std::streamoff(old_size - 1));
    if (in.get() != '\n') text.insert(0, "\n");
  }
  std::ofstream out(path, std::ios::app | std::ios::binary);
  if (!out) {
    throw FileError(path, fmt::format("cannot open the tuning database for appending: {}", std::strerror(errno)));
  }
  out << text;
  out.flush();
  if (!out) {
    const std::string why = std::strerror(errno);
    out.close();
    if (existed) {
      fs::resize_file(path, old_size, ec);
    } else {
      fs::remove(path, ec);
    }
    throw FileError(path, "cannot append to the tuning database: " + why);
  }
}

}  // namespace ellesmere::tune
