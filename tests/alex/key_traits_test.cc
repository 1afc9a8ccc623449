// KeyTraits: the order-preserving map to uint64_t that model nodes route on,
// and the exact offset that data-node models predict from.

#include "alex/key_traits.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace alex {
namespace {

using I = KeyTraits<int64_t>;
using D = KeyTraits<double>;

TEST(KeyTraitsTest, Int64MapPreservesOrderAtTheExtremes) {
  const std::vector<int64_t> keys = {std::numeric_limits<int64_t>::min(),
                                     std::numeric_limits<int64_t>::min() + 1,
                                     -(int64_t{1} << 62),
                                     -1,
                                     0,
                                     1,
                                     int64_t{1} << 62,
                                     std::numeric_limits<int64_t>::max() - 1,
                                     std::numeric_limits<int64_t>::max()};
  for (size_t i = 1; i < keys.size(); ++i)
    EXPECT_LT(I::to_unsigned(keys[i - 1]), I::to_unsigned(keys[i])) << i;
  EXPECT_EQ(I::to_unsigned(std::numeric_limits<int64_t>::min()), 0u);
  EXPECT_EQ(I::to_unsigned(std::numeric_limits<int64_t>::max()), ~uint64_t{0});
}

TEST(KeyTraitsTest, Int64MapPreservesOrderOnRandomPairs) {
  const uint64_t seed = 20261124;
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 100000; ++i) {
    const int64_t a = static_cast<int64_t>(rng()),
                  b = static_cast<int64_t>(rng());
    EXPECT_EQ(a < b, I::to_unsigned(a) < I::to_unsigned(b));
  }
}

TEST(KeyTraitsTest, Int64OffsetKeepsUnitPrecisionNearTimestamps) {
  // At 1.7e18 one double ulp is 256: subtracting after conversion would
  // lose the low bits; the offset must not.
  const int64_t base = 1700000000000000000;
  for (int64_t d = -100; d <= 100; ++d)
    EXPECT_EQ(I::offset(base + d, base), static_cast<double>(d));
  EXPECT_EQ(I::offset(base + 123456789, base + 123456788), 1.0);
}

TEST(KeyTraitsTest, Int64OffsetDoesNotOverflowAcrossTheWholeRange) {
  const int64_t lo = std::numeric_limits<int64_t>::min(),
                hi = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(I::offset(hi, lo), std::ldexp(1.0, 64));  // 2^64 - 1 rounds to 2^64
  EXPECT_EQ(I::offset(lo, hi), -std::ldexp(1.0, 64));
  EXPECT_GT(I::offset(hi, lo), 0);
}

TEST(KeyTraitsTest, Int64OffsetIsTheExactDifferenceRoundedOnce) {
  // The reference: the difference in uint64_t (never overflows), rounded
  // once to the nearest double, negated for k < base.
  auto exact = [](int64_t k, int64_t base) {
    const uint64_t uk = static_cast<uint64_t>(k), ub = static_cast<uint64_t>(base);
    return k >= base ? static_cast<double>(uk - ub) : -static_cast<double>(ub - uk);
  };
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const int64_t a = static_cast<int64_t>(rng());
    // Far apart (often past INT64_MAX), or near each other (wrapping in
    // uint64_t, so without signed overflow).
    const uint64_t r = rng();
    const int64_t b = static_cast<int64_t>(i % 2 ? r : static_cast<uint64_t>(a) + (r >> (i % 60)));
    EXPECT_EQ(I::offset(a, b), exact(a, b)) << a << " " << b;
    EXPECT_EQ(I::offset(b, a), exact(b, a)) << b << " " << a;
  }
}

TEST(KeyTraitsTest, DoubleMapPreservesOrderAndMergesSignedZeros) {
  const std::vector<double> keys = {-std::numeric_limits<double>::infinity(),
                                    -1e300,
                                    -1.0,
                                    -1e-300,
                                    0.0,
                                    1e-300,
                                    1.0,
                                    1e300,
                                    std::numeric_limits<double>::infinity()};
  for (size_t i = 1; i < keys.size(); ++i)
    EXPECT_LT(D::to_unsigned(keys[i - 1]), D::to_unsigned(keys[i])) << i;
  EXPECT_EQ(D::to_unsigned(-0.0), D::to_unsigned(0.0));
  EXPECT_EQ(D::min(), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(D::max(), std::numeric_limits<double>::infinity());
}

}  // namespace
}  // namespace alex
