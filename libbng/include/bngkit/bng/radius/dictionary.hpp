// The RADIUS dictionary: names, wire shapes and value names of attributes. Starts from the
// built-in constexpr tables and reads FreeRADIUS dictionary files for extra vendors
// (ATTRIBUTE, VALUE, VENDOR, BEGIN-VENDOR/END-VENDOR, BEGIN-TLV/END-TLV, $INCLUDE).
#pragma once

#include <bngkit/bng/radius/attributes.hpp>
#include <bngkit/bng/radius/packet.hpp>
#include <bngkit/bng_codec/export.hpp>
#include <bngkit/common/result.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace bngkit::bng::radius {

/// What one load added.
struct DictionaryLoadStats {
  std::size_t files = 0;       ///< files read, the $INCLUDEd ones too
  std::size_t attributes = 0;  ///< ATTRIBUTE lines taken
  std::size_t values = 0;      ///< VALUE lines taken
  std::size_t vendors = 0;     ///< VENDOR lines taken
  /// Definitions recognised but outside this codec: TLV members, RFC 6929 extended and
  /// Extended-Vendor-Specific attributes (dotted numbers), and their VALUEs.
  std::size_t skipped = 0;
};

/// Attribute names, shapes and value names. Lookups by name are case-insensitive, as in
/// FreeRADIUS. A later definition of a name or number replaces an earlier one (so a loaded
/// file may correct a built-in); for value names the first name of a number stays the one
/// shown. Copyable; lookups on a const Dictionary are safe from many threads. Returned
/// definitions point into the dictionary and stay valid until it is changed or destroyed.
/// A moved-from Dictionary may only be assigned to or destroyed.
class BNGKIT_BNG_CODEC_EXPORT Dictionary {
 public:
  /// What a new dictionary starts with.
  enum class Seed { kBuiltin, kEmpty };

  explicit Dictionary(Seed seed = Seed::kBuiltin);
  ~Dictionary();
  Dictionary(const Dictionary& other);
  Dictionary& operator=(const Dictionary& other);
  Dictionary(Dictionary&&) noexcept;
  Dictionary& operator=(Dictionary&&) noexcept;

  /// Reads a FreeRADIUS dictionary file and what it $INCLUDEs (paths relative to the file;
  /// "$INCLUDE-" for optional files). All or nothing: on error the dictionary is unchanged
  /// and the error names "file:line" and what is wrong there.
  [[nodiscard]] Result<DictionaryLoadStats> load_file(const std::filesystem::path& path);
  /// Same, from text; `name` labels errors and $INCLUDE paths are relative to `base_dir`.
  [[nodiscard]] Result<DictionaryLoadStats> load_string(std::string_view text,
                                                        std::string_view name = "<string>",
                                                        const std::filesystem::path& base_dir = {});

  /// Attribute (vendor, number); vendor 0 is the standard space.
  [[nodiscard]] std::optional<AttributeDef> find(std::uint32_t vendor_id,
                                                 std::uint32_t number) const;
  /// Attribute by name.
  [[nodiscard]] std::optional<AttributeDef> find(std::string_view name) const;
  [[nodiscard]] std::optional<VendorDef> find_vendor(std::uint32_t vendor_id) const;
  [[nodiscard]] std::optional<VendorDef> find_vendor(std::string_view name) const;
  /// Name of `value` of attribute (vendor, number), or empty.
  [[nodiscard]] std::optional<std::string_view> value_name(std::uint32_t vendor_id,
                                                           std::uint32_t attribute,
                                                           std::uint64_t value) const;
  /// Number behind a value name of attribute (vendor, number), or empty.
  [[nodiscard]] std::optional<std::uint64_t> value_of(std::uint32_t vendor_id,
                                                      std::uint32_t attribute,
                                                      std::string_view name) const;
  /// Sub-attribute layout of a vendor's VSAs; RFC 2865's 1,1 for vendors not known.
  [[nodiscard]] VendorFormat vendor_format(std::uint32_t vendor_id) const;

  [[nodiscard]] std::size_t attribute_count() const noexcept;
  [[nodiscard]] std::size_t vendor_count() const noexcept;
  [[nodiscard]] std::size_t value_count() const noexcept;

  /// Builds an attribute from a name and the text of its value ("Acct-Status-Type", "Start";
  /// "Framed-IPv6-Prefix", "2001:db8::/64"). Vendor attributes come back as a Vendor-Specific
  /// attribute. Hidden attributes (User-Password) are refused: see auth.hpp.
  [[nodiscard]] Result<Attribute> make(std::string_view name, std::string_view value) const;

  /// One line per (sub-)attribute, "Name = value", for logs: value names where known,
  /// unknown attributes as "Attr-N" / "Vendor-V-Attr-N" with hex, hidden values (User-Password,
  /// Tunnel-Password) and Message-Authenticator never shown.
  [[nodiscard]] std::string format(const Attribute& attribute) const;
  /// The header line and every attribute, one per line.
  [[nodiscard]] std::string format(const Packet& packet) const;

 private:
  friend class DictionaryLoader;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bngkit::bng::radius
