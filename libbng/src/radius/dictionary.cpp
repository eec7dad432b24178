// The RADIUS dictionary: built-in tables plus FreeRADIUS dictionary files, and the text form
// of attributes for logs and configuration.
#include <algorithm>
#include <bngkit/bng/radius/dictionary.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "wire.hpp"

namespace bngkit::bng::radius {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

constexpr std::uint64_t key(std::uint32_t vendor_id, std::uint32_t number) noexcept {
  return (std::uint64_t{vendor_id} << 32) | number;
}

bool integer_like(ValueType type) noexcept {
  return type == ValueType::kInteger || type == ValueType::kByte || type == ValueType::kShort ||
         type == ValueType::kInteger64;
}

std::uint64_t max_of(ValueType type) noexcept {
  switch (type) {
    case ValueType::kByte:
      return 0xff;
    case ValueType::kShort:
      return 0xffff;
    case ValueType::kInteger64:
      return ~std::uint64_t{0};
    default:
      return 0xffffffffu;
  }
}

/// Decimal or 0x hex, as FreeRADIUS writes numbers in dictionaries.
std::optional<std::uint64_t> parse_u64(std::string_view text) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

struct Dictionary::Impl {
  struct AttrRec {
    std::uint32_t vendor = 0;
    std::uint32_t number = 0;
    std::string name;
    ValueType type = ValueType::kOctets;
    Encryption encrypt = Encryption::kNone;
    bool has_tag = false;
    bool concat = false;
    bool array = false;
    std::uint8_t fixed_length = 0;

    [[nodiscard]] AttributeDef def() const {
      return AttributeDef{vendor,  number, name,  type,        encrypt,
                          has_tag, concat, array, fixed_length};
    }
  };
  struct VendorRec {
    std::uint32_t id = 0;
    std::string name;
    VendorFormat format;
  };
  struct ValueTable {
    std::unordered_map<std::string, std::uint64_t> by_name;  // lower-case names
    std::unordered_map<std::uint64_t, std::string> by_value;
  };

  std::vector<AttrRec> attrs;
  std::unordered_map<std::uint64_t, std::size_t> attr_by_number;
  std::unordered_map<std::string, std::size_t> attr_by_name;
  std::vector<VendorRec> vendors;
  std::unordered_map<std::uint32_t, std::size_t> vendor_by_id;
  std::unordered_map<std::string, std::size_t> vendor_by_name;
  std::unordered_map<std::uint64_t, ValueTable> values;
  std::size_t value_count = 0;

  void put_vendor(VendorRec rec) {
    auto lname = lower(rec.name);
    if (auto it = vendor_by_id.find(rec.id); it != vendor_by_id.end()) {
      vendors[it->second] = rec;  // a later VENDOR line for the id wins (format too)
      vendor_by_name[std::move(lname)] = it->second;
      return;
    }
    vendors.push_back(std::move(rec));
    vendor_by_id[vendors.back().id] = vendors.size() - 1;
    vendor_by_name[std::move(lname)] = vendors.size() - 1;
  }

  void put_attribute(AttrRec rec) {
    auto lname = lower(rec.name);
    const auto k = key(rec.vendor, rec.number);
    if (auto it = attr_by_name.find(lname); it != attr_by_name.end()) {
      AttrRec& old = attrs[it->second];
      if (old.vendor == rec.vendor && old.number == rec.number) {
        old = std::move(rec);  // same attribute redefined: new shape and flags
        attr_by_number[k] = it->second;
        return;
      }
    }
    attrs.push_back(std::move(rec));
    attr_by_name[std::move(lname)] = attrs.size() - 1;
    attr_by_number[k] = attrs.size() - 1;
  }

  void put_value(std::uint32_t vendor_id, std::uint32_t attribute, std::string_view name,
                 std::uint64_t value) {
    auto& table = values[key(vendor_id, attribute)];
    auto [it, inserted] = table.by_name.insert_or_assign(lower(name), value);
    (void)it;
    table.by_value.try_emplace(value, name);  // the first name of a number is the one shown
    if (inserted) ++value_count;
  }

  [[nodiscard]] const AttrRec* attribute(std::uint32_t vendor_id, std::uint32_t number) const {
    auto it = attr_by_number.find(key(vendor_id, number));
    return it == attr_by_number.end() ? nullptr : &attrs[it->second];
  }
  [[nodiscard]] const AttrRec* attribute(std::string_view name) const {
    auto it = attr_by_name.find(lower(name));
    return it == attr_by_name.end() ? nullptr : &attrs[it->second];
  }
  [[nodiscard]] const VendorRec* vendor(std::string_view name) const {
    auto it = vendor_by_name.find(lower(name));
    return it == vendor_by_name.end() ? nullptr : &vendors[it->second];
  }
};

/// Reads FreeRADIUS dictionary text into an Impl. State that spans files (pending VALUEs,
/// names of skipped attributes) lives here; BEGIN-VENDOR/BEGIN-TLV blocks are per file, as
/// in FreeRADIUS.
class DictionaryLoader {
 public:
  using Impl = Dictionary::Impl;
  static constexpr int kMaxDepth = 32;

  DictionaryLoader(Impl& impl, DictionaryLoadStats& stats) : d_(impl), stats_(stats) {}

  Result<void> file(const std::filesystem::path& path, int depth, const std::string& where) {
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      const int err = errno != 0 ? errno : ENOENT;
      return errno_error(err, where + "cannot open dictionary " + path.string());
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) return errno_error(EIO, where + "cannot read dictionary " + path.string());
    return text(buffer.str(), path.string(), path.parent_path(), depth);
  }

  Result<void> text(std::string_view content, const std::string& label,
                    const std::filesystem::path& base_dir, int depth) {
    ++stats_.files;
    Block block;
    std::size_t line_no = 0;
    std::size_t start = 0;
    while (start <= content.size()) {
      auto end = content.find('\n', start);
      if (end == std::string_view::npos) end = content.size();
      ++line_no;
      auto line = content.substr(start, end - start);
      start = end + 1;
      if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
      const auto tokens = split(line);
      if (tokens.empty()) continue;
      const std::string where = label + ":" + std::to_string(line_no) + ": ";
      auto done = statement(tokens, where, line_no, block, base_dir, depth);
      if (!done) return done;
      if (end == content.size()) break;
    }
    if (!block.vendor_name.empty()) {
      return fail(label + ":" + std::to_string(block.vendor_line) + ": ",
                  "BEGIN-VENDOR " + block.vendor_name + " has no END-VENDOR");
    }
    if (!block.tlvs.empty()) {
      return fail(label + ": ", "BEGIN-TLV " + block.tlvs.back() + " has no END-TLV");
    }
    return ok();
  }

  /// Resolves VALUE lines that came before their ATTRIBUTE.
  Result<void> finish() {
    for (const auto& pending : pending_) {
      const auto* attribute = d_.attribute(pending.attribute);
      if (attribute != nullptr) {
        if (auto added = value(*attribute, pending.name, pending.value, pending.where); !added) {
          return added;
        }
      } else if (skipped_.contains(lower(pending.attribute))) {
        ++stats_.skipped;
      } else {
        return fail(pending.where, "VALUE for unknown attribute '" + pending.attribute + "'");
      }
    }
    pending_.clear();
    return ok();
  }

 private:
  struct Block {
    std::uint32_t vendor = 0;
    std::string vendor_name;  // empty outside BEGIN-VENDOR
    std::size_t vendor_line = 0;
    bool evs = false;
    std::vector<std::string> tlvs;
  };
  struct PendingValue {
    std::string where;
    std::string attribute;
    std::string name;
    std::uint64_t value = 0;
  };

  static std::vector<std::string_view> split(std::string_view line) {
    std::vector<std::string_view> tokens;
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
      const std::size_t begin = i;
      while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
      if (i > begin) tokens.push_back(line.substr(begin, i - begin));
    }
    return tokens;
  }

  static Error fail(const std::string& where, const std::string& what) {
    return make_error(std::errc::invalid_argument, where + what);
  }

  Result<void> statement(const std::vector<std::string_view>& t, const std::string& where,
                         std::size_t line_no, Block& block, const std::filesystem::path& base_dir,
                         int depth) {
    const std::string_view keyword = t[0];
    if (keyword == "ATTRIBUTE") return attribute(t, where, block);
    if (keyword == "VALUE") return value_line(t, where);
    if (keyword == "VENDOR") return vendor(t, where);
    if (keyword == "BEGIN-VENDOR") return begin_vendor(t, where, line_no, block);
    if (keyword == "END-VENDOR") {
      if (t.size() != 2) return fail(where, "END-VENDOR needs exactly a vendor name");
      if (block.vendor_name.empty()) {
        return fail(where, "END-VENDOR " + std::string(t[1]) + " without BEGIN-VENDOR");
      }
      if (lower(t[1]) != lower(block.vendor_name)) {
        return fail(
            where, "END-VENDOR " + std::string(t[1]) + " closes BEGIN-VENDOR " + block.vendor_name);
      }
      block.vendor = 0;
      block.vendor_name.clear();
      block.evs = false;
      return ok();
    }
    if (keyword == "BEGIN-TLV") {
      if (t.size() != 2) return fail(where, "BEGIN-TLV needs exactly an attribute name");
      const auto name = lower(t[1]);
      const auto* parent = d_.attribute(t[1]);
      if (!skipped_.contains(name) && (parent == nullptr || parent->type != ValueType::kTlv)) {
        return fail(where, "BEGIN-TLV " + std::string(t[1]) + ": no such tlv attribute");
      }
      block.tlvs.emplace_back(t[1]);
      return ok();
    }
    if (keyword == "END-TLV") {
      if (t.size() != 2) return fail(where, "END-TLV needs exactly an attribute name");
      if (block.tlvs.empty() || lower(block.tlvs.back()) != lower(t[1])) {
        return fail(where, "END-TLV " + std::string(t[1]) + " does not close the open BEGIN-TLV");
      }
      block.tlvs.pop_back();
      return ok();
    }
    if (keyword == "$INCLUDE" || keyword == "$INCLUDE-") {
      if (t.size() != 2) return fail(where, std::string(keyword) + " needs exactly a file name");
      if (depth + 1 > kMaxDepth) {
        return fail(where,
                    "$INCLUDE nested deeper than " + std::to_string(kMaxDepth) + " (a loop?)");
      }
      std::filesystem::path path(t[1]);
      if (path.is_relative()) path = base_dir / path;
      if (keyword == "$INCLUDE-") {
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) return ok();
      }
      return file(path, depth + 1, where);
    }
    return fail(where, "unknown keyword '" + std::string(keyword) + "'");
  }

  Result<void> attribute(const std::vector<std::string_view>& t, const std::string& where,
                         const Block& block) {
    if (t.size() < 4 || t.size() > 5) {
      return fail(where, "ATTRIBUTE needs a name, a number, a type and optional flags");
    }
    Impl::AttrRec rec;
    rec.name = std::string(t[1]);
    // Type, possibly with a size: octets[16].
    std::string_view type_text = t[3];
    if (const auto bracket = type_text.find('['); bracket != std::string_view::npos) {
      const auto close = type_text.find(']', bracket);
      const auto size = close == std::string_view::npos
                            ? std::nullopt
                            : parse_u64(type_text.substr(bracket + 1, close - bracket - 1));
      if (!size || *size == 0 || *size > kMaxAttributeValue || close + 1 != type_text.size()) {
        return fail(where, "bad size in type '" + std::string(type_text) + "'");
      }
      rec.fixed_length = static_cast<std::uint8_t>(*size);
      type_text = type_text.substr(0, bracket);
    }
    const auto type = value_type_from_name(type_text);
    if (!type) return fail(where, "unknown attribute type '" + std::string(t[3]) + "'");
    rec.type = *type;

    std::uint32_t vendor_id = block.vendor;
    VendorFormat format;
    if (auto it = d_.vendor_by_id.find(vendor_id); it != d_.vendor_by_id.end()) {
      format = d_.vendors[it->second].format;
    }
    if (t.size() == 5) {
      if (const auto* old_style_vendor = d_.vendor(t[4]);
          old_style_vendor != nullptr && t[4].find('=') == std::string_view::npos) {
        vendor_id = old_style_vendor->id;  // "ATTRIBUTE name number type Vendor"
        format = old_style_vendor->format;
      } else if (auto flags = parse_flags(t[4], rec); !flags) {
        return fail(where, flags.error().context);
      }
    }

    const bool nested =
        t[2].find('.') != std::string_view::npos || !block.tlvs.empty() || block.evs;
    if (nested) {
      skipped_.insert(lower(rec.name));
      ++stats_.skipped;
      return ok();
    }
    const auto number = parse_u64(t[2]);
    if (!number || *number > 0xffffffffu) {
      return fail(where, "bad attribute number '" + std::string(t[2]) + "'");
    }
    if (vendor_id == 0 && *number > 255) {
      // Server-internal attributes (FreeRADIUS numbers them from 1000): never on the wire.
      skipped_.insert(lower(rec.name));
      ++stats_.skipped;
      return ok();
    }
    if (vendor_id != 0 && ((format.type_size == 1 && *number > 0xff) ||
                           (format.type_size == 2 && *number > 0xffff))) {
      return fail(where, "attribute number " + std::to_string(*number) + " does not fit the " +
                             std::to_string(format.type_size) + "-octet type of its vendor");
    }
    rec.vendor = vendor_id;
    rec.number = static_cast<std::uint32_t>(*number);
    skipped_.erase(lower(rec.name));
    d_.put_attribute(std::move(rec));
    ++stats_.attributes;
    return ok();
  }

  static Result<void> parse_flags(std::string_view text, Impl::AttrRec& rec) {
    std::size_t start = 0;
    while (start <= text.size()) {
      auto end = text.find(',', start);
      if (end == std::string_view::npos) end = text.size();
      const auto flag = text.substr(start, end - start);
      if (flag == "has_tag") {
        rec.has_tag = true;
      } else if (flag == "concat") {
        rec.concat = true;
      } else if (flag == "array") {
        rec.array = true;
      } else if (flag.starts_with("encrypt=")) {
        const auto n = parse_u64(flag.substr(8));
        if (!n || *n > 3) {
          return make_error(std::errc::invalid_argument,
                            "unknown encryption '" + std::string(flag) + "'");
        }
        rec.encrypt = static_cast<Encryption>(*n);
      } else if (flag == "virtual" || flag == "secret" || flag == "long" || flag == "internal") {
        // Server-side flags; they do not change the wire shape.
      } else {
        return make_error(std::errc::invalid_argument,
                          "unknown flag or vendor '" + std::string(flag) + "'");
      }
      if (end == text.size()) break;
      start = end + 1;
    }
    return ok();
  }

  Result<void> value_line(const std::vector<std::string_view>& t, const std::string& where) {
    if (t.size() != 4) return fail(where, "VALUE needs an attribute, a name and a number");
    const auto number = parse_u64(t[3]);
    if (!number) return fail(where, "bad value number '" + std::string(t[3]) + "'");
    const auto* attribute = d_.attribute(t[1]);
    if (attribute == nullptr || skipped_.contains(lower(t[1]))) {
      if (skipped_.contains(lower(t[1]))) {
        ++stats_.skipped;
        return ok();
      }
      pending_.push_back({where, std::string(t[1]), std::string(t[2]), *number});
      return ok();
    }
    return value(*attribute, t[2], *number, where);
  }

  Result<void> value(const Impl::AttrRec& attribute, std::string_view name, std::uint64_t number,
                     const std::string& where) {
    if (integer_like(attribute.type) && number > max_of(attribute.type)) {
      return fail(where, "value " + std::to_string(number) + " does not fit " +
                             std::string(value_type_name(attribute.type)) + " attribute " +
                             attribute.name);
    }
    d_.put_value(attribute.vendor, attribute.number, name, number);
    ++stats_.values;
    return ok();
  }

  Result<void> vendor(const std::vector<std::string_view>& t, const std::string& where) {
    if (t.size() != 3 && t.size() != 4) {
      return fail(where, "VENDOR needs a name, a number and an optional format=t,l");
    }
    const auto id = parse_u64(t[2]);
    if (!id || *id == 0 || *id > 0x00ffffffu) {
      return fail(where, "bad vendor number '" + std::string(t[2]) + "' (1..16777215)");
    }
    Impl::VendorRec rec{static_cast<std::uint32_t>(*id), std::string(t[1]), VendorFormat{}};
    if (t.size() == 4) {
      const std::string_view spec = t[3];
      bool good = spec.starts_with("format=");
      std::string_view rest = good ? spec.substr(7) : spec;
      // t,l or t,l,c with t in {1,2,4} and l in {0,1,2}.
      if (good && rest.size() >= 3 && rest[1] == ',') {
        rec.format.type_size = static_cast<std::uint8_t>(rest[0] - '0');
        rec.format.length_size = static_cast<std::uint8_t>(rest[2] - '0');
        good =
            (rec.format.type_size == 1 || rec.format.type_size == 2 || rec.format.type_size == 4) &&
            rec.format.length_size <= 2;
        if (rest.size() == 5 && rest[3] == ',' && rest[4] == 'c') {
          rec.format.continuation = true;
          good = good && rec.format.type_size == 1 && rec.format.length_size == 1;
        } else if (rest.size() != 3) {
          good = false;
        }
      } else {
        good = false;
      }
      if (!good) return fail(where, "bad vendor format '" + std::string(spec) + "'");
    }
    d_.put_vendor(std::move(rec));
    ++stats_.vendors;
    return ok();
  }

  Result<void> begin_vendor(const std::vector<std::string_view>& t, const std::string& where,
                            std::size_t line_no, Block& block) {
    if (t.size() != 2 && t.size() != 3) {
      return fail(where, "BEGIN-VENDOR needs a vendor name and an optional format=");
    }
    if (!block.vendor_name.empty()) {
      return fail(
          where, "BEGIN-VENDOR " + std::string(t[1]) + " inside BEGIN-VENDOR " + block.vendor_name);
    }
    const auto* rec = d_.vendor(t[1]);
    if (rec == nullptr)
      return fail(where, "BEGIN-VENDOR for unknown vendor '" + std::string(t[1]) + "'");
    bool evs = false;
    if (t.size() == 3) {
      if (!t[2].starts_with("format=Extended-Vendor-Specific-")) {
        return fail(where, "bad BEGIN-VENDOR option '" + std::string(t[2]) + "'");
      }
      evs = true;  // RFC 6929 Extended-Vendor-Specific: outside this codec
    }
    block.vendor = rec->id;
    block.vendor_name = std::string(t[1]);
    block.vendor_line = line_no;
    block.evs = evs;
    return ok();
  }

  Impl& d_;
  DictionaryLoadStats& stats_;
  std::vector<PendingValue> pending_;
  std::unordered_set<std::string> skipped_;
};

Dictionary::Dictionary(Seed seed) : impl_(std::make_unique<Impl>()) {
  if (seed == Seed::kEmpty) return;
  for (const auto& v : kBuiltinVendors) {
    impl_->put_vendor(
        {v.id, std::string(v.name), VendorFormat{v.type_size, v.length_size, v.continuation}});
  }
  for (const auto& a : kBuiltinAttributes) {
    impl_->put_attribute({a.vendor, a.number, std::string(a.name), a.type, a.encrypt, a.has_tag,
                          a.concat, a.array, a.fixed_length});
  }
  for (const auto& v : kBuiltinValues) impl_->put_value(v.vendor, v.attribute, v.name, v.value);
}

Dictionary::~Dictionary() = default;
Dictionary::Dictionary(const Dictionary& other) : impl_(std::make_unique<Impl>(*other.impl_)) {}
Dictionary& Dictionary::operator=(const Dictionary& other) {
  if (this != &other) impl_ = std::make_unique<Impl>(*other.impl_);
  return *this;
}
Dictionary::Dictionary(Dictionary&&) noexcept = default;
Dictionary& Dictionary::operator=(Dictionary&&) noexcept = default;

Result<DictionaryLoadStats> Dictionary::load_file(const std::filesystem::path& path) {
  auto staged = std::make_unique<Impl>(*impl_);
  DictionaryLoadStats stats;
  DictionaryLoader loader(*staged, stats);
  if (auto loaded = loader.file(path, 0, ""); !loaded) return loaded.error();
  if (auto finished = loader.finish(); !finished) return finished.error();
  impl_ = std::move(staged);
  return stats;
}

Result<DictionaryLoadStats> Dictionary::load_string(std::string_view text, std::string_view name,
                                                    const std::filesystem::path& base_dir) {
  auto staged = std::make_unique<Impl>(*impl_);
  DictionaryLoadStats stats;
  DictionaryLoader loader(*staged, stats);
  if (auto loaded = loader.text(text, std::string(name), base_dir, 0); !loaded) {
    return loaded.error();
  }
  if (auto finished = loader.finish(); !finished) return finished.error();
  impl_ = std::move(staged);
  return stats;
}

std::optional<AttributeDef> Dictionary::find(std::uint32_t vendor_id, std::uint32_t number) const {
  const auto* rec = impl_->attribute(vendor_id, number);
  if (rec == nullptr) return std::nullopt;
  return rec->def();
}

std::optional<AttributeDef> Dictionary::find(std::string_view name) const {
  const auto* rec = impl_->attribute(name);
  if (rec == nullptr) return std::nullopt;
  return rec->def();
}

std::optional<VendorDef> Dictionary::find_vendor(std::uint32_t vendor_id) const {
  auto it = impl_->vendor_by_id.find(vendor_id);
  if (it == impl_->vendor_by_id.end()) return std::nullopt;
  const auto& rec = impl_->vendors[it->second];
  return VendorDef{rec.id, rec.name, rec.format.type_size, rec.format.length_size,
                   rec.format.continuation};
}

std::optional<VendorDef> Dictionary::find_vendor(std::string_view name) const {
  const auto* rec = impl_->vendor(name);
  if (rec == nullptr) return std::nullopt;
  return VendorDef{rec->id, rec->name, rec->format.type_size, rec->format.length_size,
                   rec->format.continuation};
}

std::optional<std::string_view> Dictionary::value_name(std::uint32_t vendor_id,
                                                       std::uint32_t attribute,
                                                       std::uint64_t value) const {
  auto table = impl_->values.find(key(vendor_id, attribute));
  if (table == impl_->values.end()) return std::nullopt;
  auto it = table->second.by_value.find(value);
  if (it == table->second.by_value.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::optional<std::uint64_t> Dictionary::value_of(std::uint32_t vendor_id, std::uint32_t attribute,
                                                  std::string_view name) const {
  auto table = impl_->values.find(key(vendor_id, attribute));
  if (table == impl_->values.end()) return std::nullopt;
  auto it = table->second.by_name.find(lower(name));
  if (it == table->second.by_name.end()) return std::nullopt;
  return it->second;
}

VendorFormat Dictionary::vendor_format(std::uint32_t vendor_id) const {
  auto it = impl_->vendor_by_id.find(vendor_id);
  return it == impl_->vendor_by_id.end() ? VendorFormat{} : impl_->vendors[it->second].format;
}

std::size_t Dictionary::attribute_count() const noexcept { return impl_->attr_by_number.size(); }
std::size_t Dictionary::vendor_count() const noexcept { return impl_->vendor_by_id.size(); }
std::size_t Dictionary::value_count() const noexcept { return impl_->value_count; }

Result<Attribute> Dictionary::make(std::string_view name, std::string_view text) const {
  const auto* def = impl_->attribute(name);
  if (def == nullptr) {
    return make_error(std::errc::invalid_argument, "unknown attribute '" + std::string(name) + "'");
  }
  if (def->encrypt != Encryption::kNone) {
    return make_error(std::errc::invalid_argument,
                      def->name + " is hidden with the shared secret: use auth.hpp to set it");
  }
  if (def->vendor == 0 && def->number > 255) {
    return make_error(std::errc::invalid_argument, def->name + " is not a wire attribute");
  }
  std::vector<std::uint8_t> bytes;
  const auto named =
      integer_like(def->type) ? value_of(def->vendor, def->number, text) : std::nullopt;
  if (def->has_tag && def->type == ValueType::kInteger) {
    // RFC 2868: the first octet is the tag (0 here), the value takes the other three.
    std::optional<std::uint64_t> number = named;
    if (!number) {
      auto parsed = parse_value(ValueType::kInteger, text);
      if (!parsed) return std::move(parsed).error();
      number = detail::load_be32(parsed->data());
    }
    if (*number > 0xffffff) {
      return make_error(std::errc::invalid_argument,
                        def->name + " value " + std::to_string(*number) +
                            " does not fit the 24 bits a tagged integer has");
    }
    bytes = {0, static_cast<std::uint8_t>(*number >> 16), static_cast<std::uint8_t>(*number >> 8),
             static_cast<std::uint8_t>(*number)};
  } else if (named) {
    auto parsed = parse_value(def->type, std::to_string(*named));
    if (!parsed) return std::move(parsed).error();
    bytes = std::move(*parsed);
  } else {
    auto parsed = parse_value(def->type, text);
    if (!parsed) {
      return Error{parsed.error().code, def->name + ": " + parsed.error().context};
    }
    bytes = std::move(*parsed);
  }
  if (auto checked = check_value(def->type, bytes, def->fixed_length); !checked) {
    return Error{checked.error().code, def->name + ": " + checked.error().context};
  }
  if (def->vendor != 0) {
    return make_vendor_specific(def->vendor, def->number, bytes, vendor_format(def->vendor));
  }
  return Attribute::make(static_cast<std::uint8_t>(def->number), bytes);
}

namespace {

std::string format_one(const Dictionary& dict, std::uint32_t vendor_id, std::uint32_t number,
                       std::span<const std::uint8_t> value) {
  const auto def = dict.find(vendor_id, number);
  if (!def) {
    const std::string name =
        vendor_id != 0 ? "Vendor-" + std::to_string(vendor_id) + "-Attr-" + std::to_string(number)
                       : "Attr-" + std::to_string(number);
    return name + " = " + to_hex(value);
  }
  std::string name(def->name);
  if (def->encrypt != Encryption::kNone) {
    return name + " = <hidden, " + std::to_string(value.size()) + " octets>";
  }
  if (def->has_tag && !value.empty() && value[0] <= 0x1f) {
    // RFC 2868 3: a first octet of 0x01-0x1f is a tag; integers always carry one.
    if (def->type == ValueType::kInteger || value[0] != 0) {
      if (value[0] != 0) name += ":" + std::to_string(value[0]);
      if (def->type == ValueType::kInteger) {
        if (value.size() != 4) return name + " = " + to_hex(value);
        const std::uint32_t v = detail::load_be32(value.data()) & 0xffffff;
        const auto vn = dict.value_name(def->vendor, def->number, v);
        return name + " = " + (vn ? std::string(*vn) : std::to_string(v));
      }
      value = value.subspan(1);
    }
  }
  if (!check_value(def->type, value, def->fixed_length)) return name + " = " + to_hex(value);
  if (integer_like(def->type)) {
    std::uint64_t v = 0;
    for (const std::uint8_t b : value) v = (v << 8) | b;
    if (const auto vn = dict.value_name(def->vendor, def->number, v)) {
      return name + " = " + std::string(*vn);
    }
  }
  return name + " = " + format_value(def->type, value);
}

}  // namespace

std::string Dictionary::format(const Attribute& attribute) const {
  if (attribute.type() != attr::kVendorSpecific) {
    return format_one(*this, 0, attribute.type(), attribute.value());
  }
  const auto value = attribute.value();
  if (value.size() < 5) return "Vendor-Specific = " + to_hex(value);
  const std::uint32_t vendor_id = detail::load_be32(value.data());
  auto vsa = parse_vendor_specific(attribute, vendor_format(vendor_id));
  if (!vsa) return "Vendor-Specific = " + to_hex(value);
  std::string out;
  for (const auto& sub : vsa->attributes) {
    if (!out.empty()) out += '\n';
    out += format_one(*this, vendor_id, sub.type, sub.value);
  }
  return out;
}

std::string Dictionary::format(const Packet& packet) const {
  const auto name = code_name(packet.code);
  std::string out =
      name.empty() ? "Code-" + std::to_string(static_cast<int>(packet.code)) : std::string(name);
  out += " id=" + std::to_string(packet.identifier) +
         " length=" + std::to_string(packet.wire_size()) +
         " authenticator=" + to_hex(packet.authenticator);
  for (const auto& attribute : packet.attributes) {
    const auto text = format(attribute);
    std::size_t start = 0;
    while (start <= text.size()) {
      auto end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      out += "\n  ";
      out.append(text, start, end - start);
      start = end + 1;
    }
  }
  return out;
}

}  // namespace bngkit::bng::radius
