// baselines::Rmi: the index this system had before ALEX, kept as a benchmark
// baseline. A two-stage linear Recursive Model Index (Kraska et al., "The Case
// for Learned Index Structures", SIGMOD 2018) over a sorted key array.
//
// Layout:
//   keys_[0..n)      sorted, distinct keys
//   payloads_[0..n)  payloads_[i] belongs to keys_[i] (separate arrays, so a
//                    search touches only keys)
//   root             one linear model: key -> stage-2 model index
//   models_[0..M)    M = max(1, n / kKeysPerModel) linear models, each
//                    key -> position, trained on the contiguous run of keys the
//                    root sends to it, with its own error bounds
//
// Lookup: the root picks a model m, the model predicts a position p (clamped
// to m's run), and std::lower_bound searches keys_[p - err_lo - d,
// p + err_hi + d + 1), where d counts the inserts and erases since the last
// training. The answer always lies in that window, for present and absent
// keys alike, because both models are non-decreasing in the key:
//   - at training, the root sends every key below x to a model <= m and every
//     key above x to a model >= m, so x's lower bound lies in m's run
//     [begin, end]; inside it, the keys just below and just above x have
//     predictions <= p and >= p and lie within their own error bounds, which
//     pins the lower bound to [p - err_lo, p + err_hi + 1];
//   - each insert or erase moves any lower bound by at most one slot.
// check() verifies the per-key bounds this rests on.
//
// Updates: insert and erase shift the arrays (O(n) per operation) and every
// kRetrainInterval updates the whole model is retrained from the arrays, as
// the old system did. Training depends only on the array contents, so a
// structure retrained after k updates is identical to one bulk-loaded with the
// same keys.
//
// Precision: keys are mapped to doubles as distances from a reference key
// (the first key for the root, the model's first key for each stage-2 model),
// with the subtraction done in the unsigned type, so 1.7e18-magnitude
// timestamps and runs of dense keys anywhere in the int64 range keep their
// resolution.
//
// Thread safety: none; callers synchronize. Any insert or erase invalidates
// indices obtained from lower_bound_index().

#ifndef ALEX_BENCH_BASELINES_RMI_H_
#define ALEX_BENCH_BASELINES_RMI_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace baselines {

template <class Key, class Payload>
class Rmi {
  static_assert(std::is_integral_v<Key> && sizeof(Key) <= 8,
                "Rmi keys are integers of at most 64 bits");

 public:
  // Average number of keys per stage-2 model (n / kKeysPerModel models).
  static constexpr size_t kKeysPerModel = 128;
  // The whole model is retrained after this many inserts plus erases.
  static constexpr size_t kRetrainInterval = 1000;

  Rmi() = default;

  // Replaces the contents with pairs[0..n) and trains the model.
  // REQUIRES: keys strictly increasing.
  void bulk_load(const std::pair<Key, Payload>* pairs, size_t n) {
    keys_.clear();
    payloads_.clear();
    keys_.reserve(n);
    payloads_.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      keys_.push_back(pairs[i].first);
      payloads_.push_back(pairs[i].second);
    }
    train();
  }

  // Returns the payload of `key`, or nullptr when absent. The pointer is valid
  // until the next insert, erase or bulk_load.
  const Payload* find(Key key) const {
    const size_t pos = lower_bound_index(key);
    if (pos < keys_.size() && keys_[pos] == key) return &payloads_[pos];
    return nullptr;
  }

  // Inserts (key, payload); returns false (and changes nothing) when `key` is
  // already present.
  bool insert(Key key, Payload payload) {
    const size_t pos = lower_bound_index(key);
    if (pos < keys_.size() && keys_[pos] == key) return false;
    keys_.insert(keys_.begin() + pos, key);
    payloads_.insert(payloads_.begin() + pos, payload);
    note_update();
    return true;
  }

  // Removes `key`; returns false when it was absent.
  bool erase(Key key) {
    const size_t pos = lower_bound_index(key);
    if (pos >= keys_.size() || keys_[pos] != key) return false;
    keys_.erase(keys_.begin() + pos);
    payloads_.erase(payloads_.begin() + pos);
    note_update();
    return true;
  }

  // Index of the first key >= `key` (size() when there is none). Scan forward
  // with key_at(i) / payload_at(i) for i in [index, size()).
  size_t lower_bound_index(Key key) const {
    const size_t n = keys_.size();
    const Key* keys = keys_.data();
    if (models_.empty()) return std::lower_bound(keys, keys + n, key) - keys;
    const Model& model = models_[root_model(key)];
    const size_t pred = predict(model, key);
    const size_t below = model.err_lo + updates_since_train_;
    const size_t above = model.err_hi + updates_since_train_;
    const size_t hi = std::min(n, pred + above + 1);
    const size_t lo = std::min(hi, pred > below ? pred - below : 0);
    return std::lower_bound(keys + lo, keys + hi, key) - keys;
  }

  // REQUIRES: i < size().
  Key key_at(size_t i) const { return keys_[i]; }
  const Payload& payload_at(size_t i) const { return payloads_[i]; }
  Payload& payload_at(size_t i) { return payloads_[i]; }

  size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }

  // Bytes held by the structure: the object plus the capacity of its arrays.
  size_t memory_bytes() const {
    return sizeof(*this) + keys_.capacity() * sizeof(Key) +
           payloads_.capacity() * sizeof(Payload) +
           models_.capacity() * sizeof(Model);
  }

  size_t model_count() const { return models_.size(); }
  size_t updates_since_train() const { return updates_since_train_; }

  // Returns "" when every invariant holds, else a description of the first
  // violation: keys strictly increasing, arrays of equal length, and (when the
  // model is fresh) models tiling [0, n) in order with every key inside its
  // model's error bounds.
  std::string check() const {
    const size_t n = keys_.size();
    if (payloads_.size() != n) return "key and payload arrays differ in size";
    for (size_t i = 1; i < n; ++i) {
      if (!(keys_[i - 1] < keys_[i])) {
        return "keys not strictly increasing at " + std::to_string(i);
      }
    }
    if (updates_since_train_ >= kRetrainInterval) return "retrain overdue";
    if (updates_since_train_ != 0) return "";
    if (n == 0) return models_.empty() ? "" : "models on an empty array";
    if (models_.size() != std::max<size_t>(1, n / kKeysPerModel)) {
      return "wrong model count";
    }
    size_t next = 0;
    for (size_t m = 0; m < models_.size(); ++m) {
      const Model& model = models_[m];
      if (model.begin != next || model.end < model.begin) {
        return "models do not tile the array at model " + std::to_string(m);
      }
      for (size_t i = model.begin; i < model.end; ++i) {
        if (root_model(keys_[i]) != m) {
          return "key " + std::to_string(i) + " outside its model's run";
        }
        const size_t pred = predict(model, keys_[i]);
        if (pred > i + model.err_lo || i > pred + model.err_hi) {
          return "key " + std::to_string(i) + " outside its error bounds";
        }
      }
      next = model.end;
    }
    if (next != n) return "models do not cover the array";
    return "";
  }

  // Implementation details follow.

 private:
  using UKey = std::make_unsigned_t<Key>;

  // A stage-2 model: position = begin + intercept + slope * (key - first),
  // clamped to [begin, end]. Keys of the model's run keys_[begin, end) are
  // within [pred - err_lo, pred + err_hi] of their index.
  struct Model {
    Key first;  // reference key: the run's first key
    double slope;
    double intercept;
    size_t begin;
    size_t end;
    size_t err_lo;
    size_t err_hi;
  };

  // to - from as a double, exact up to rounding even when the difference
  // does not fit in Key.
  static double distance(Key from, Key to) {
    return to >= from ? static_cast<double>(UKey(to) - UKey(from))
                      : -static_cast<double>(UKey(from) - UKey(to));
  }

  // Least-squares fit of y = intercept + slope * x over points (x(i), y(i))
  // for i in [0, count). The slope is never negative (the data is sorted).
  template <class X, class Y>
  static void fit_line(size_t count, X x, Y y, double* slope,
                       double* intercept) {
    double mean_x = 0, mean_y = 0;
    for (size_t i = 0; i < count; ++i) {
      mean_x += x(i);
      mean_y += y(i);
    }
    mean_x /= static_cast<double>(count);
    mean_y /= static_cast<double>(count);
    double sxx = 0, sxy = 0;
    for (size_t i = 0; i < count; ++i) {
      const double dx = x(i) - mean_x;
      sxx += dx * dx;
      sxy += dx * (y(i) - mean_y);
    }
    *slope = sxx > 0 && sxy > 0 ? sxy / sxx : 0.0;
    *intercept = mean_y - *slope * mean_x;
  }

  // Stage 1: the model responsible for `key`. Non-decreasing in `key`.
  size_t root_model(Key key) const {
    const double p = root_intercept_ + root_slope_ * distance(base_, key);
    if (!(p > 0)) return 0;
    const double last = static_cast<double>(models_.size() - 1);
    return p >= last ? models_.size() - 1 : static_cast<size_t>(p);
  }

  // Stage 2: predicted position of `key`, in [model.begin, model.end].
  // Non-decreasing in `key`.
  static size_t predict(const Model& model, Key key) {
    const double p = model.intercept + model.slope * distance(model.first, key);
    if (!(p > 0)) return model.begin;
    const double span = static_cast<double>(model.end - model.begin);
    return p >= span ? model.end : model.begin + static_cast<size_t>(p);
  }

  void note_update() {
    if (++updates_since_train_ >= kRetrainInterval) train();
  }

  // Rebuilds every model from the arrays.
  void train() {
    updates_since_train_ = 0;
    models_.clear();
    const size_t n = keys_.size();
    if (n == 0) return;
    base_ = keys_[0];
    const size_t model_count = std::max<size_t>(1, n / kKeysPerModel);
    // Root: regression of rank on key, scaled from [0, n) to [0, M).
    double slope, intercept;
    fit_line(
        n, [&](size_t i) { return distance(base_, keys_[i]); },
        [](size_t i) { return static_cast<double>(i); }, &slope, &intercept);
    const double scale =
        static_cast<double>(model_count) / static_cast<double>(n);
    root_slope_ = slope * scale;
    root_intercept_ = intercept * scale;

    // The root is monotone, so each model's keys form one contiguous run.
    models_.resize(model_count);
    size_t i = 0;
    for (size_t m = 0; m < model_count; ++m) {
      const size_t begin = i;
      while (i < n && root_model(keys_[i]) <= m) ++i;
      train_model(&models_[m], begin, i);
    }
  }

  void train_model(Model* model, size_t begin, size_t end) {
    model->begin = begin;
    model->end = end;
    model->err_lo = 0;
    model->err_hi = 0;
    model->slope = 0;
    model->intercept = 0;
    if (begin == end) {  // empty: every prediction is `begin`
      model->first = begin < keys_.size() ? keys_[begin] : keys_.back();
      return;
    }
    const Key first = keys_[begin];
    model->first = first;
    fit_line(
        end - begin,
        [&](size_t i) { return distance(first, keys_[begin + i]); },
        [](size_t i) { return static_cast<double>(i); }, &model->slope,
        &model->intercept);
    for (size_t i = begin; i < end; ++i) {
      const size_t pred = predict(*model, keys_[i]);
      if (pred > i) {
        model->err_lo = std::max(model->err_lo, pred - i);
      } else {
        model->err_hi = std::max(model->err_hi, i - pred);
      }
    }
  }

  std::vector<Key> keys_;
  std::vector<Payload> payloads_;
  std::vector<Model> models_;  // empty iff keys_ was empty at the last train
  Key base_ = 0;               // keys_[0] at the last train
  double root_slope_ = 0;
  double root_intercept_ = 0;
  size_t updates_since_train_ = 0;
};

}  // namespace baselines

#endif  // ALEX_BENCH_BASELINES_RMI_H_
