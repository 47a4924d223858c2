// Targeting rules compiled once at load: offer geo rules and campaign target
// rules, evaluated without touching the record's JSON.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hotpath.h"
#include "recipes/json_value.h"

namespace hp::recipes {

enum Dimension { kCountry, kRegion, kCity, kIsp, kOs, kBrowser, kDeviceType, kDimensions };

// A visitor's values, with lengths, as match() compares them.
struct Visitor {
  std::string_view dim[kDimensions];
};

struct Condition {
  int dimension = 0;
  std::vector<std::string> values;  // lower case; any of them
};

struct FilterGroup {
  std::vector<Condition> conditions;  // all of them
};

struct TargetRule {
  bool include = true;
  std::vector<FilterGroup> groups;  // any of them
};

struct Rules {
  bool has_geo = false;
  bool geo_any_include = false;
  std::vector<std::string> geo_include;  // lower case
  std::vector<std::string> geo_exclude;
  bool has_target = false;
  std::string redirect_to;
  std::vector<TargetRule> target;
};

// The compiled rules of one load, one copy of each distinct set: records
// with the same rules (offers often share a country list) share it.
class RuleSet {
 public:
  // Keeps `rules`, or an equal set kept before. The result lives as long as
  // this set (or the one that absorbs it).
  const Rules *add(std::unique_ptr<Rules> rules);
  // Takes over another set's rules.
  void absorb(RuleSet &&other);
  // Drops what only add() needs.
  void seal() {
    decltype(by_content_)().swap(by_content_);
    std::string().swap(key_);
  }

 private:
  struct Hash {
    size_t operator()(const std::string &s) const;
  };
  std::vector<std::unique_ptr<Rules>> owned_;
  std::unordered_map<std::string, const Rules *, Hash> by_content_;
  std::string key_;
};

// Compiles `value` (the geo rules' JSON value) into `rules`. Returns false
// when its shape is not {"geo":[{country, include}]}.
bool compile_geo(const JValue &value, Rules *rules);
// Compiles campaign target rules {redirectTo, rules:[...]}.
bool compile_target(const JValue &value, Rules *rules);

// HP_RECIPES_RULE_* outcome of geo rules for a visitor.
int eval_geo(const Rules &rules, const Visitor &v);
// HP_RECIPES_RULE_* outcome of target rules; *rule gets the deciding rule's index.
int eval_target(const Rules &rules, const Visitor &v, int *rule);

}  // namespace hp::recipes
