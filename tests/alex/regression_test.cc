// Regression tests: minimal operation sequences, found by the randomized
// tests and shrunk, that once broke the tree. Each states the symptom.
//
// A hang fails fast: a watchdog ends the process (with a message) if a test
// runs far longer than it should, instead of waiting for ctest's timeout.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "alex/alex.h"
#include "tests/alex/key_sets.h"
#include "tests/alex/tree_checks.h"

namespace alex_test {
namespace {

// Ends the process with a message if not destroyed within `limit`.
class Watchdog {
 public:
  Watchdog(const char* what, std::chrono::seconds limit)
      : thread_([this, what, limit] {
          std::unique_lock<std::mutex> lock(mutex_);
          if (!done_cv_.wait_for(lock, limit, [this] { return done_; })) {
            std::fprintf(stderr, "FAILED: %s did not finish within %lld s\n",
                         what, static_cast<long long>(limit.count()));
            std::fflush(stderr);
            std::_Exit(1);
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_one();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

// Symptom: the last insert never returned (insert -> make_room ->
// split_at_end, round and round), with small nodes. Found by
// DifferentialTest.MatchesStdMap/Clustered_FromEmpty_SmallNodes with
// ALEX_TEST_SEED=15, shrunk from 18096 operations to these 151 inserts.
TEST(Regression, SmallNodesInsertsDoNotHang) {
  const int64_t keys[] = {
      -7676804185651378807, -7424910707457011875, -7458712179941099958,
      -7458712179941100069, -7328971437344919391, -7328971437344917753,
      -7424910707457012782, -7676804185651377971, -7424910707457013746,
      -7676804185651378200, -7328971437344917867, -7676804185651377899,
      -7458712179941100302, -7848710069140376607, -7424910707457010394,
      -7676804185651377025, -6979734019672549724, -7458712179941100577,
      -7328971437344917782, -6979734019672548490, -6837740126079372373,
      -6979734019672549433, -7328971437344919918, -7328971437344918597,
      -6979734019672547890, -6979734019672549299, -7151336231619702320,
      -7465237450620265634, -7848710069140377358, -7424910707457010638,
      -7676804185651378916, -7328971437344919054, -7424910707457012244,
      -7044630226407673259, -7676804185651379327, -7676804185651377448,
      -7458712179941100100, -7198099024602122345, -7328971437344919097,
      -7676804185651379191, -7465237450620266793, -7676804185651377524,
      -6837740126079372178, -7424910707457012151, -6979734019672550473,
      -7424910707457013585, -7458712179941100619, -7328971437344918408,
      -7151336231619701976, -7424910707457012254, -7848710069140377793,
      -7424910707457011096, -7676804185651377733, -7465237450620266035,
      -7328971437344917890, -7198099024602122254, -7848710069140377751,
      -7424910707457011753, -7044630226407673817, -7044630226407672588,
      -7328971437344917474, -6979734019672548083, -7676804185651378492,
      -7458712179941100184, -7676804185651378896, -7424910707457012924,
      -6979734019672548695, -7848710069140377032, -6979734019672550393,
      -7328971437344919234, -7044630226407673856, -7328971437344919328,
      -7044630226407672521, -7328971437344918413, -7465237450620265893,
      -7424910707457013529, -7676804185651378488, -6979734019672548459,
      -7465237450620266031, -7676804185651377668, -6979734019672550343,
      -7424910707457011111, -7465237450620266095, -7198099024602121955,
      -7458712179941100237, -7424910707457013566, -7424910707457011182,
      -7424910707457011786, -7044630226407673500, -7458712179941100032,
      -7151336231619701688, -7848710069140377484, -7465237450620265779,
      -7465237450620265835, -6979734019672548577, -7424910707457011016,
      -7151336231619701902, -6979734019672549497, -7424910707457012681,
      -7676804185651377145, -7458712179941099960, -7328971437344917926,
      -7198099024602122028, -7328971437344917951, -7328971437344918042,
      -7198099024602122273, -7198099024602122300, -7328971437344917836,
      -7044630226407673807, -7465237450620266064, -7465237450620266416,
      -7198099024602122169, -7328971437344918338, -7458712179941100643,
      -7328971437344918249, -7465237450620266295, -7328971437344918937,
      -6979734019672548760, -7151336231619702512, -7676804185651377439,
      -6979734019672548038, -7328971437344920248, -7151336231619702193,
      -7188992773731943036, -7328971437344920193, -7676804185651378075,
      -7198099024602121946, -6979734019672548252, -7676804185651379548,
      -5889074016688482742, 3223520523004933360,  -7676804185651377684,
      -7328971437344917714, -7188992773731943013, 8189662210883134336,
      -7458712179941100488, 8683081340120684394,  -3498482962027079849,
      -7328971437344919532, -7465237450620266704, -7442964809199423522,
      -7848710069140377221, -7465237450620265988, -9093186817338186466,
      -7465237450620265680, -7458712179941100315, -7465237450620265665,
      -7465237450620265941, -7465237450620266125, -7465237450620266202,
      -7442964809199423514};
  Watchdog watchdog("Regression.SmallNodesInsertsDoNotHang",
                    std::chrono::seconds(30));
  alex::Tree<int64_t, uint64_t, SmallNodes> tree;
  Pairs<int64_t> expected;
  for (int64_t key : keys) {
    ASSERT_TRUE(tree.insert(key, payload_for(key, 1)).second) << key;
    expected.emplace_back(key, payload_for(key, 1));
  }
  std::sort(expected.begin(), expected.end());
  ASSERT_TRUE(is_valid(tree));
  EXPECT_TRUE(holds_exactly(tree, expected));
}

// Symptom: splits that moved no key. A full leaf whose keys all route to one
// slot of its parent was split sideways at the slot after its median key's,
// so every key went to one side: the same leaf rebuilt, plus an empty one
// (1M clustered keys, every other cluster bulk-loaded and the rest inserted:
// 174 of 917 sideways splits). Such a leaf now splits down. With only inserts, all of
// them inside the loaded keys' range (so the root never grows an empty
// leaf), no leaf is ever empty.
TEST(Regression, SplitsLeaveNoLeafEmpty) {
  const uint64_t seed = test_seed(5100);
  SCOPED_TRACE(seed_trace(seed));
  // Every 8th key and the last are loaded; the others are inserted.
  const std::vector<int64_t> all =
      sorted(make_keys(KeySet::kClustered, 20'000, seed));
  std::vector<int64_t> loaded, inserted;
  for (size_t i = 0; i < all.size(); ++i) {
    (i % 8 == 0 || i + 1 == all.size() ? loaded : inserted).push_back(all[i]);
  }
  Random random(seed);
  random.shuffle(inserted);
  const Pairs<int64_t> pairs = sorted_pairs(loaded, 1);
  alex::Tree<int64_t, uint64_t, SmallNodes> tree;
  tree.bulk_load(pairs.data(), pairs.size());
  for (size_t i = 0; i < inserted.size(); ++i) {
    ASSERT_TRUE(tree.insert(inserted[i], 2).second) << inserted[i];
    if (i % 1000 == 0) {
      ASSERT_EQ(tree.stats().empty_data_nodes, 0u) << "after insert " << i;
    }
  }
  ASSERT_TRUE(is_valid(tree));
  const alex::Stats stats = tree.stats();
  EXPECT_GT(stats.splits_sideways, 0u);
  EXPECT_GT(stats.splits_down, 0u);
  EXPECT_EQ(stats.empty_data_nodes, 0u) << describe_stats(tree);
}

}  // namespace
}  // namespace alex_test
