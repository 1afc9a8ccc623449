// Copyright (c) the alex authors.
//
// KeyTraits<Key>: the three things the index needs to know about a key type.
//
//   to_unsigned(k)  an order-preserving map into uint64_t. Model nodes route
//                   on it with exact integer arithmetic (see model_node.h), so
//                   routing never loses precision, whatever the magnitude.
//   offset(k, base) k - base as a double, computed without overflow. Data
//                   node models predict from it; it is exact while
//                   |k - base| < 2^53 and only ever used as a hint.
//   min(), max()    the smallest and largest keys. A data node's leading
//                   (trailing) gaps hold min() (max()) so its key array
//                   stays sorted; they are NOT reserved: real keys equal to
//                   them are stored and found like any other.
//
// Provided for int64_t (the product's key: SQLite rowids) and double.
// REQUIRES for double keys: no NaN. -0.0 and 0.0 are the same key.

#ifndef ALEX_KEY_TRAITS_H_
#define ALEX_KEY_TRAITS_H_

#include <cstdint>
#include <cstring>
#include <limits>

namespace alex {

template <class Key>
struct KeyTraits;

template <>
struct KeyTraits<int64_t> {
  static constexpr int64_t min() { return std::numeric_limits<int64_t>::min(); }
  static constexpr int64_t max() { return std::numeric_limits<int64_t>::max(); }

  // Flipping the sign bit maps INT64_MIN..INT64_MAX onto 0..UINT64_MAX.
  static constexpr uint64_t to_unsigned(int64_t k) {
    return static_cast<uint64_t>(k) ^ (uint64_t{1} << 63);
  }

  // The difference is taken in integers and only then converted, so keys
  // near 1.7e18 keep their unit precision: in int64_t when it fits (one
  // conversion), else in uint64_t, where it cannot overflow. Both round
  // the same exact difference to the nearest double.
  static double offset(int64_t k, int64_t base) {
    int64_t d;
    if (!__builtin_sub_overflow(k, base, &d)) return static_cast<double>(d);
    return k >= base ? static_cast<double>(static_cast<uint64_t>(k) - static_cast<uint64_t>(base))
                     : -static_cast<double>(static_cast<uint64_t>(base) - static_cast<uint64_t>(k));
  }
};

template <>
struct KeyTraits<double> {
  static constexpr double min() { return -std::numeric_limits<double>::infinity(); }
  static constexpr double max() { return std::numeric_limits<double>::infinity(); }

  // IEEE-754 bit patterns sort like the values once negative numbers have
  // all bits flipped and positive numbers have the sign bit set.
  static uint64_t to_unsigned(double k) {
    if (k == 0.0) k = 0.0;  // -0.0 == 0.0 must route identically
    uint64_t bits;
    std::memcpy(&bits, &k, sizeof bits);
    return (bits >> 63) ? ~bits : bits | (uint64_t{1} << 63);
  }

  static double offset(double k, double base) { return k - base; }
};

}  // namespace alex

#endif  // ALEX_KEY_TRAITS_H_
