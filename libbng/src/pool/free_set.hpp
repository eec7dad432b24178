// FreeSet: a hierarchical bitmap over [0, n) answering "first set bit at or after i" in
// O(log64 n). Level 0 holds one bit per address; bit w of level k+1 says whether word w
// of level k has any bit set. Used by LocalPoolAllocator as each pool's free list.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace bngkit::bng::pool::detail {

class FreeSet {
 public:
  explicit FreeSet(std::size_t n) : size_(n) {
    std::size_t bits = n;
    do {
      const std::size_t words = (bits + 63) / 64;
      levels_.emplace_back(words, 0);
      bits = words;
    } while (bits > 1);
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t count() const noexcept { return count_; }

  [[nodiscard]] bool test(std::size_t i) const noexcept {
    return (levels_[0][i / 64] >> (i % 64)) & 1u;
  }

  void set(std::size_t i) noexcept {
    if (test(i)) return;
    ++count_;
    for (auto& level : levels_) {
      const bool was_empty = level[i / 64] == 0;
      level[i / 64] |= std::uint64_t{1} << (i % 64);
      if (!was_empty) break;  // Upper levels already say this word is non-empty.
      i /= 64;
    }
  }

  void reset(std::size_t i) noexcept {
    if (!test(i)) return;
    --count_;
    for (auto& level : levels_) {
      level[i / 64] &= ~(std::uint64_t{1} << (i % 64));
      if (level[i / 64] != 0) break;  // Word still non-empty: upper levels stay set.
      i /= 64;
    }
  }

  /// First set bit at or after `from`, wrapping round to 0; nullopt when none is set.
  [[nodiscard]] std::optional<std::size_t> find_from(std::size_t from) const noexcept {
    if (count_ == 0) return std::nullopt;
    if (from < size_) {
      if (auto hit = next(0, from)) return hit;
    }
    return next(0, 0);
  }

 private:
  // First set bit at or after `pos` at `level`.
  [[nodiscard]] std::optional<std::size_t> next(std::size_t level, std::size_t pos) const noexcept {
    const auto& words = levels_[level];
    const std::size_t w = pos / 64;
    if (w >= words.size()) return std::nullopt;
    const std::uint64_t bits = words[w] & (~std::uint64_t{0} << (pos % 64));
    if (bits != 0) return w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
    if (level + 1 == levels_.size()) return std::nullopt;  // Top level is a single word.
    // The next non-empty word at this level, found one level up, then its lowest bit.
    const auto word = next(level + 1, w + 1);
    if (!word) return std::nullopt;
    return *word * 64 + static_cast<std::size_t>(std::countr_zero(words[*word]));
  }

  std::size_t size_;
  std::size_t count_ = 0;
  std::vector<std::vector<std::uint64_t>> levels_;
};

}  // namespace bngkit::bng::pool::detail
