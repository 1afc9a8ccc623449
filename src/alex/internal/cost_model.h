// Copyright (c) the alex authors.
//
// The cost model that shapes the tree: it decides, at bulk load and when a
// subtree is rebuilt, whether keys become one data node or a model node and
// with which fanout, and at run time whether a full data node expands or
// splits. Implementation detail of alex.h.
//
// Costs are in rough nanoseconds per lookup-or-insert of one key:
//   * an exponential search whose answer lies e slots from the prediction
//     costs kSearch * log2(e + 1): each doubling step is a compare and,
//     beyond a cache line, a miss;
//   * an insert into a run of L contiguous keys shifts about L / 4 of them
//     (to the nearer end), kShift each; a random insert lands in a run of
//     length L with probability L / n, so the mean is sum(L^2) / (4 n);
//   * each model level is a dependent load of a child pointer and a node
//     header: kLevel;
//   * memory is a cost too: kByte per byte per key, for child pointer arrays
//     and node headers, so the model prefers fewer, fuller nodes when
//     lookups would not get faster.
// The weights follow the ALEX paper's (search 20, shifts 0.5 per insert,
// traversal 20) scaled to this machine; they only need to be right
// relative to each other.

#ifndef ALEX_INTERNAL_COST_MODEL_H_
#define ALEX_INTERNAL_COST_MODEL_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

namespace alex::internal {

struct CostWeights {
  static constexpr double kSearch = 12.0;
  static constexpr double kShift = 0.5;
  static constexpr double kLevel = 25.0;
  static constexpr double kByte = 1.0;
};

// log2(1 + x) for x >= 0, to within 0.09: the exponent of 1 + x plus its
// mantissa taken as linear (Mitchell's approximation). The cost model
// calls it once per key, where std::log2 would dominate a bulk load.
// exponent + mantissa / 2^52 is the bit pattern, less the exponent bias,
// over 2^52: one integer conversion (the sign bit, set only for NaN, is
// dropped so that the result stays large and positive).
inline double log2_1p(double x) {
  const double v = 1 + x;
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  const auto biased = static_cast<int64_t>(bits & ~(uint64_t{1} << 63)) - (int64_t{1023} << 52);
  return static_cast<double>(biased) * 0x1p-52;
}

// A least-squares line through (offset(key(j), mid), j) for j in [0, m),
// m >= 2, where mid is a key near the middle of the range: slope (never
// negative), and the means of the offsets and of the ranks. One pass, key(j)
// called once for each j in increasing order: offsets from a middle key
// have a mean that is small against their spread, so the sums do not
// cancel.
struct RankFit {
  double slope, mean_offset, mean_rank;
};
// The fit from sums over c points (x, y): x an offset, y a rank less
// `rank_origin` (chosen near the mean rank, so that the sums do not cancel).
inline RankFit rank_fit_from_sums(double c, double sx, double sy, double sxx, double sxy, double rank_origin) {
  const double mx = sx / c, my = sy / c;
  const double var = sxx - sx * mx;
  double slope = var > 0 ? (sxy - sx * my) / var : 0;
  if (!std::isfinite(slope) || slope < 0) slope = 0;
  return {slope, mx, rank_origin + my};
}
template <class Key, class Traits, class KeyAt>
RankFit fit_ranks(KeyAt key, size_t m, Key mid) {
  const double my = static_cast<double>(m - 1) / 2;
  double sx = 0, sxx = 0, sxy = 0;
  for (size_t j = 0; j < m; ++j) {
    const double x = Traits::offset(key(j), mid);
    sx += x;
    sxx += x * x;
    sxy += x * (static_cast<double>(j) - my);  // the ranks' deviations sum to 0
  }
  return rank_fit_from_sums(static_cast<double>(m), sx, 0, sxx, sxy, my);
}

// Expected search-plus-shift cost per key of a data node holding keys whose
// sorted sample is s[0..m), each sample standing for t keys (t = 1: every
// key), laid out at `density`.
template <class Key, class Traits>
double data_node_cost(const Key* s, size_t m, double t, double density) {
  if (m <= 1) return 0;
  // Least-squares fit of rank (j * t) against the key offset.
  const Key mid = s[m / 2];
  const auto [slope, mx, my] = fit_ranks<Key, Traits>([s](size_t j) { return s[j]; }, m, mid);
  const double scale = t / density;  // slots per sample
  // Simulate the layout: each key at its predicted slot or just past the
  // previous one. With every key (t == 1) slots are integers and runs of
  // contiguous keys are exact. With samples, a block of t keys is packed
  // into a run when its predicted width is under t slots; otherwise its
  // keys sit at the model's density, in runs of about kSparseRun.
  constexpr double kSparseRun = 2;
  const bool exact = t == 1;
  double prev = -std::numeric_limits<double>::infinity();
  double log_err = 0, run = 0, run_sq = 0;
  for (size_t j = 0; j < m; ++j) {
    const double pred = (slope * (Traits::offset(s[j], mid) - mx) + my) * scale;
    const double placed = exact ? std::max(std::floor(pred), prev + 1) : std::max(pred, prev + t);
    log_err += log2_1p(std::abs(placed - pred));
    if (placed - prev <= t) {
      run += t;  // contiguous with the keys before
    } else {
      run_sq += run * run;
      run = exact ? t : 0;
      if (!exact) run_sq += t * kSparseRun;
    }
    prev = placed;
  }
  run_sq += run * run;
  const double n = static_cast<double>(m) * t;
  return CostWeights::kSearch * log_err / static_cast<double>(m) + CostWeights::kShift * run_sq / (4 * n);
}

// Cost of the inserts a data node has seen since its last resize.
inline double empirical_cost(uint64_t inserts, uint64_t distance, uint64_t shifts) {
  if (inserts == 0) return 0;
  const double n = static_cast<double>(inserts);
  return CostWeights::kSearch * log2_1p(static_cast<double>(distance) / n) +
         CostWeights::kShift * static_cast<double>(shifts) / n;
}

}  // namespace alex::internal

#endif  // ALEX_INTERNAL_COST_MODEL_H_
