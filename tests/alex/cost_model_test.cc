// The cost model's arithmetic helpers.

#include "alex/internal/cost_model.h"

#include <gtest/gtest.h>

#include <cmath>

namespace {

using alex::internal::log2_1p;

TEST(CostModelTest, Log2OnePlusIsExactAtPowersOfTwoAndLinearBetween) {
  for (int e = 0; e < 60; ++e) {
    const double v = std::ldexp(1.0, e);
    EXPECT_EQ(log2_1p(v - 1), e) << e;
    // Halfway to the next power: exponent e, mantissa one half.
    EXPECT_EQ(log2_1p(1.5 * v - 1), e + 0.5) << e;
  }
}

TEST(CostModelTest, Log2OnePlusIsWithinMitchellsErrorOfLog2) {
  for (double x = 0; x < 1e7; x = x * 1.01 + 0.1) {
    const double want = std::log2(1 + x);
    EXPECT_LE(log2_1p(x), want + 1e-12) << x;  // the chord lies below the curve
    EXPECT_GT(log2_1p(x), want - 0.09) << x;
  }
}

}  // namespace
