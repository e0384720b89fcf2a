#pragma once
/// \file
/// How a search spends its training budget on the candidates it selected. A strategy
/// decides who trains at which fidelity (a rung: training images and epochs); the
/// `TrialRunner` it is given does the trainings, logs them and resumes them. Successive
/// halving is the built-in strategy; another (evolution, a learned controller) is one
/// more class.
///
///     concnas::search::SuccessiveHalving halving(/*rungs=*/3, /*keep=*/0.5);
///     halving.run(selected_ids, trial_runner);

#include <string>
#include <vector>

#include "concnas/search/results.h"

namespace concnas::search {

/// Trains candidates at a rung of the config's `search.rungs`.
class TrialRunner {
 public:
  virtual ~TrialRunner() = default;
  /// Trains each of `candidates` (ids) at `rung` (0-based), in order, and returns their
  /// records; a trial logged by an earlier run is returned without training again.
  virtual std::vector<TrialRecord> train(const std::vector<int>& candidates, int rung) = 0;
  /// Whether candidate `id` is a baseline (always trained, never ranked out).
  virtual bool is_baseline(int id) const = 0;
  /// The number of rungs the config defines.
  virtual int rungs() const = 0;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  /// Spends the budget on `entrants` (candidate ids, ascending).
  virtual void run(const std::vector<int>& entrants, TrialRunner& trials) const = 0;
};

/// Every entrant trains at the first rung; the best `keep` fraction of the sampled ones
/// by validation accuracy (and every baseline) goes on to the next, up to the last rung.
/// A failed training is never promoted.
class SuccessiveHalving : public Strategy {
 public:
  explicit SuccessiveHalving(double keep) : keep_(keep) {}
  std::string name() const override { return "successive_halving"; }
  void run(const std::vector<int>& entrants, TrialRunner& trials) const override;

  /// Those of `trained` (the rung's records) that go on to the next rung, ascending.
  std::vector<int> promoted(const std::vector<TrialRecord>& trained, const TrialRunner& trials) const;

 private:
  double keep_;
};

}  // namespace concnas::search
