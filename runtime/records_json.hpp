#pragma once
// The store's records as JSON (nlohmann, never by hand): the file format of
// messages/session_store.hpp, also what `claudy --json sessions` prints.

#include <caf/expected.hpp>
#include <nlohmann/json_fwd.hpp>

#include "messages/session_store.hpp"

namespace hal9000 {

/// With "version": store_layout_version first.
nlohmann::json to_json(const session_record& x);
nlohmann::json to_json(const worker_record& x);

/// Defensive reads: unknown fields ignored, optional fields defaulted.
/// invalid_argument naming the field when a required one is missing, a field
/// has the wrong type, the name/id fails valid_name or the version is newer
/// than ours.
caf::expected<session_record> session_from_json(const nlohmann::json& j);
caf::expected<worker_record> worker_from_json(const nlohmann::json& j);

} // namespace hal9000
