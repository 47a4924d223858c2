#include "recipes/rules.h"

#include "recipes/tape.h"

namespace hp::recipes {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char &c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// ASCII case-insensitive equality of a visitor's value and a lower-case rule value.
bool same(std::string_view visitor, const std::string &rule) {
  if (visitor.size() != rule.size()) return false;
  for (size_t i = 0; i < rule.size(); i++) {
    char c = visitor[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != rule[i]) return false;
  }
  return true;
}

bool any_same(std::string_view visitor, const std::vector<std::string> &values) {
  if (visitor.empty()) return false;
  for (const std::string &v : values)
    if (same(visitor, v)) return true;
  return false;
}

int dimension_of(std::string_view name) {
  static const char *const names[kDimensions] = {"country", "region", "city", "isp", "os", "browser", "devicetype"};
  std::string l = lower(name);
  if (l == "device_type" || l == "device") return kDeviceType;
  for (int i = 0; i < kDimensions; i++)
    if (l == names[i]) return i;
  return -1;
}

bool truthy(const JValue *v, bool dflt) {
  if (!v) return dflt;
  if (v->kind == JValue::kBool) return v->boolean;
  if (v->kind == JValue::kNumber) return v->number != 0;
  if (v->kind == JValue::kString) return v->text == "true" || v->text == "1";
  return dflt;
}

}  // namespace

bool compile_geo(const JValue &value, Rules *rules) {
  const JValue *geo = value.get("geo");
  if (!geo || geo->kind != JValue::kArray) return false;
  rules->has_geo = true;
  bool ok = true;
  for (const JValue &entry : geo->items) {
    const JValue *country = entry.get("country");
    if (!country || !country->is_string()) {
      ok = false;
      continue;
    }
    if (truthy(entry.get("include"), true)) {
      rules->geo_any_include = true;
      rules->geo_include.push_back(lower(country->text));
    } else {
      rules->geo_exclude.push_back(lower(country->text));
    }
  }
  return ok;
}

bool compile_target(const JValue &value, Rules *rules) {
  if (value.kind != JValue::kObject) return false;
  const JValue *list = value.get("rules");
  if (list && list->kind != JValue::kArray) return false;
  rules->has_target = true;
  if (const JValue *to = value.get("redirectTo"); to && to->is_string()) rules->redirect_to = to->text;
  if (!list) return true;
  bool ok = true;
  for (const JValue &r : list->items) {
    const JValue *groups = r.get("filterGroups");
    if (!groups || groups->kind != JValue::kArray) {
      ok = false;
      continue;
    }
    TargetRule rule;
    rule.include = truthy(r.get("include"), true);
    for (const JValue &g : groups->items) {
      const JValue *conds = g.get("conditions");
      if (!conds || conds->kind != JValue::kArray) {
        ok = false;
        continue;
      }
      FilterGroup group;
      for (const JValue &c : conds->items) {
        const JValue *dim = c.get("dimension");
        const JValue *val = c.get("value");
        int d = dim && dim->is_string() ? dimension_of(dim->text) : -1;
        if (d < 0 || !val) {
          ok = false;
          // A condition that cannot be read never holds, so its group fails.
          group.conditions.push_back(Condition{kCountry, {}});
          continue;
        }
        Condition cond;
        cond.dimension = d;
        if (val->is_string()) {
          cond.values.push_back(lower(val->text));
        } else if (val->kind == JValue::kArray) {
          for (const JValue &v : val->items) {
            if (v.is_string())
              cond.values.push_back(lower(v.text));
            else
              ok = false;
          }
        } else if (val->kind == JValue::kNumber) {
          cond.values.push_back(val->text);
        } else {
          ok = false;
        }
        group.conditions.push_back(std::move(cond));
      }
      rule.groups.push_back(std::move(group));
    }
    rules->target.push_back(std::move(rule));
  }
  return ok;
}

int eval_geo(const Rules &rules, const Visitor &v) {
  if (!rules.has_geo) return HP_RECIPES_RULE_NONE;
  std::string_view country = v.dim[kCountry];
  if (any_same(country, rules.geo_exclude)) return HP_RECIPES_RULE_FAIL;
  if (rules.geo_any_include)
    return any_same(country, rules.geo_include) ? HP_RECIPES_RULE_PASS : HP_RECIPES_RULE_FAIL;
  return HP_RECIPES_RULE_PASS;
}

namespace {
bool holds(const TargetRule &rule, const Visitor &v) {
  for (const FilterGroup &g : rule.groups) {
    bool all = true;
    for (const Condition &c : g.conditions) {
      if (!any_same(v.dim[c.dimension], c.values)) {
        all = false;
        break;
      }
    }
    if (all && !g.conditions.empty()) return true;
  }
  return false;
}
}  // namespace

int eval_target(const Rules &rules, const Visitor &v, int *rule) {
  *rule = -1;
  if (!rules.has_target || rules.target.empty()) return HP_RECIPES_RULE_NONE;
  int first_include = -1;
  for (size_t i = 0; i < rules.target.size(); i++) {
    const TargetRule &r = rules.target[i];
    bool h = holds(r, v);
    if (r.include && !h) {
      *rule = static_cast<int>(i);
      return HP_RECIPES_RULE_FAIL;
    }
    if (!r.include && h) {
      *rule = static_cast<int>(i);
      return HP_RECIPES_RULE_FAIL;
    }
    if (r.include && first_include < 0) first_include = static_cast<int>(i);
  }
  *rule = first_include;
  return HP_RECIPES_RULE_PASS;
}

namespace {

void put_count(std::string &out, size_t n) {
  uint32_t v = static_cast<uint32_t>(n);
  out.append(reinterpret_cast<const char *>(&v), sizeof v);
}

void put_text(std::string &out, std::string_view s) {
  put_count(out, s.size());
  out.append(s);
}

void put_list(std::string &out, const std::vector<std::string> &values) {
  put_count(out, values.size());
  for (const std::string &v : values) put_text(out, v);
}

// Everything that decides a match, written unambiguously.
void content_of(const Rules &r, std::string &out) {
  out.clear();
  out.push_back(r.has_geo ? 'G' : 'g');
  out.push_back(r.geo_any_include ? 'I' : 'i');
  put_list(out, r.geo_include);
  put_list(out, r.geo_exclude);
  out.push_back(r.has_target ? 'T' : 't');
  put_text(out, r.redirect_to);
  put_count(out, r.target.size());
  for (const TargetRule &rule : r.target) {
    out.push_back(rule.include ? '+' : '-');
    put_count(out, rule.groups.size());
    for (const FilterGroup &g : rule.groups) {
      put_count(out, g.conditions.size());
      for (const Condition &c : g.conditions) {
        out.push_back(static_cast<char>(c.dimension));
        put_list(out, c.values);
      }
    }
  }
}

}  // namespace

size_t RuleSet::Hash::operator()(const std::string &s) const { return hash_text(s); }

const Rules *RuleSet::add(std::unique_ptr<Rules> rules) {
  content_of(*rules, key_);  // into a buffer reused: most sets were seen before
  auto it = by_content_.find(key_);
  if (it != by_content_.end()) return it->second;
  const Rules *kept = rules.get();
  by_content_.emplace(key_, kept);
  owned_.push_back(std::move(rules));
  return kept;
}

void RuleSet::absorb(RuleSet &&other) {
  for (auto &r : other.owned_) owned_.push_back(std::move(r));
  other.owned_.clear();
  other.seal();
}

}  // namespace hp::recipes
