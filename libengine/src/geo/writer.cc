#include "geo/writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "core/error.h"
#include "core/ip.h"
#include "geo/decoder.h"

namespace hp::geo {

namespace {

void put_be(std::string &out, uint64_t v, size_t n) {
  for (size_t i = n; i-- > 0;) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

size_t min_bytes(uint64_t v) {
  size_t n = 0;
  while (v) {
    n++;
    v >>= 8;
  }
  return n;
}

void put_uint(std::string &out, unsigned type, uint64_t v) {
  size_t n = min_bytes(v);
  encode_header(out, type, n);
  put_be(out, v, n);
}

void put_str(std::string &out, const std::string &s) {
  encode_header(out, HP_GEO_STRING, s.size());
  out += s;
}

}  // namespace

void encode_header(std::string &out, unsigned type, size_t size) {
  unsigned t = type <= 7 ? type : 0;
  uint8_t ctrl = static_cast<uint8_t>(t << 5);
  std::string tail;
  if (size < 29) {
    ctrl |= static_cast<uint8_t>(size);
  } else if (size < 285) {
    ctrl |= 29;
    put_be(tail, size - 29, 1);
  } else if (size < 65821) {
    ctrl |= 30;
    put_be(tail, size - 285, 2);
  } else {
    ctrl |= 31;
    put_be(tail, size - 65821, 3);
  }
  out.push_back(static_cast<char>(ctrl));
  if (type > 7) out.push_back(static_cast<char>(type - 7));
  out += tail;
}

int Writer::init(const hp_geo_writer_options *o) {
  if (!o) return 0;
  ip_version_ = o->ip_version ? o->ip_version : 6;
  if (ip_version_ != 4 && ip_version_ != 6)
    return core::set_error(HP_EINVAL, "geo_writer: ip_version must be 4 or 6, not ", std::to_string(o->ip_version));
  record_size_ = o->record_size;
  if (record_size_ && record_size_ != 24 && record_size_ != 28 && record_size_ != 32)
    return core::set_error(HP_EINVAL, "geo_writer: record_size must be 24, 28 or 32");
  if (o->database_type) type_ = o->database_type;
  if (o->description) description_ = o->description;
  for (size_t i = 0; i < o->language_count; i++)
    if (o->languages && o->languages[i]) languages_.emplace_back(o->languages[i]);
  epoch_ = o->build_epoch;
  return 0;
}

int Writer::serialise(const hp_geo_value *v, std::string &out, unsigned depth) {
  if (depth > kMaxDepth) return core::set_error(HP_EINVAL, "geo_writer: record nested too deeply");
  switch (v->type) {
    case HP_GEO_STRING:
      if (v->size && !v->v.str) return core::set_error(HP_EINVAL, "geo_writer: NULL string");
      if (!valid_utf8(v->v.bytes, v->size)) return core::set_error(HP_EINVAL, "geo_writer: string is not UTF-8");
      encode_header(out, HP_GEO_STRING, v->size);
      out.append(v->v.str, v->size);
      return 0;
    case HP_GEO_BYTES:
      if (v->size && !v->v.bytes) return core::set_error(HP_EINVAL, "geo_writer: NULL bytes");
      encode_header(out, HP_GEO_BYTES, v->size);
      out.append(reinterpret_cast<const char *>(v->v.bytes), v->size);
      return 0;
    case HP_GEO_DOUBLE: {
      uint64_t bits;
      std::memcpy(&bits, &v->v.f64, 8);
      encode_header(out, HP_GEO_DOUBLE, 8);
      put_be(out, bits, 8);
      return 0;
    }
    case HP_GEO_FLOAT: {
      float f = static_cast<float>(v->v.f64);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      encode_header(out, HP_GEO_FLOAT, 4);
      put_be(out, bits, 4);
      return 0;
    }
    case HP_GEO_UINT16:
      if (v->v.u64 > 0xffff) return core::set_error(HP_EINVAL, "geo_writer: uint16 out of range");
      put_uint(out, HP_GEO_UINT16, v->v.u64);
      return 0;
    case HP_GEO_UINT32:
      if (v->v.u64 > 0xffffffffu) return core::set_error(HP_EINVAL, "geo_writer: uint32 out of range");
      put_uint(out, HP_GEO_UINT32, v->v.u64);
      return 0;
    case HP_GEO_UINT64:
      put_uint(out, HP_GEO_UINT64, v->v.u64);
      return 0;
    case HP_GEO_INT32: {
      if (v->v.i64 < INT32_MIN || v->v.i64 > INT32_MAX)
        return core::set_error(HP_EINVAL, "geo_writer: int32 out of range");
      uint32_t u = static_cast<uint32_t>(static_cast<int32_t>(v->v.i64));
      encode_header(out, HP_GEO_INT32, 4);
      put_be(out, u, 4);
      return 0;
    }
    case HP_GEO_UINT128: {
      size_t n = v->v.u128.hi ? 8 + min_bytes(v->v.u128.hi) : min_bytes(v->v.u128.lo);
      encode_header(out, HP_GEO_UINT128, n);
      if (n > 8) put_be(out, v->v.u128.hi, n - 8);
      put_be(out, v->v.u128.lo, n > 8 ? 8 : n);
      return 0;
    }
    case HP_GEO_BOOLEAN:
      encode_header(out, HP_GEO_BOOLEAN, v->v.u64 ? 1 : 0);
      return 0;
    case HP_GEO_MAP:
    case HP_GEO_ARRAY: {
      size_t n = v->type == HP_GEO_MAP ? 2 * size_t(v->size) : v->size;
      if (n && !v->v.items) return core::set_error(HP_EINVAL, "geo_writer: container without items");
      encode_header(out, v->type, v->size);
      for (size_t i = 0; i < n; i++) {
        if (v->type == HP_GEO_MAP && (i & 1) == 0 && v->v.items[i].type != HP_GEO_STRING)
          return core::set_error(HP_EINVAL, "geo_writer: map key is not a string");
        int rc = serialise(&v->v.items[i], out, depth + 1);
        if (rc != 0) return rc;
      }
      return 0;
    }
    default:
      return core::set_error(HP_EINVAL, "geo_writer: unknown value type ", std::to_string(v->type));
  }
}

int Writer::insert(const char *network, size_t len, const hp_geo_value *record) {
  std::string net(network, len);
  unsigned prefix = 0;
  bool has_prefix = false;
  size_t slash = net.find('/');
  std::string addr = net.substr(0, slash);
  if (slash != std::string::npos) {
    std::string p = net.substr(slash + 1);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos)
      return core::set_error(HP_EINVAL, "geo_writer: '", net, "' is not a network");
    prefix = static_cast<unsigned>(std::stoul(p));
    has_prefix = true;
  }
  uint8_t bytes[16] = {};
  unsigned bits;
  core::IpAddress a;
  // A NUL inside is refused: "10.0.0.0\0junk/7" is not a network.
  if (!core::parse_ip(addr.data(), addr.size(), &a))
    return core::set_error(HP_EINVAL, "geo_writer: '", net, "' is not a network");
  if (a.len == 4) {
    std::memcpy(bytes + 12, a.bytes, 4);
    bits = 32;
  } else {
    std::memcpy(bytes, a.bytes, 16);
    bits = 128;
    if (ip_version_ == 4)
      return core::set_error(HP_EFAMILY, "geo_writer: '", net, "' is IPv6 but the database is IPv4-only");
  }
  if (!has_prefix) prefix = bits;
  if (prefix == 0 || prefix > bits)
    return core::set_error(HP_EINVAL, "geo_writer: prefix of '", net, "' must be 1..", std::to_string(bits));
  const uint8_t *key = bytes;
  unsigned depth = prefix;
  if (ip_version_ == 6 && bits == 32) depth += 96;
  if (ip_version_ == 4) key = bytes + 12;
  if (!record) return core::set_error(HP_EINVAL, "geo_writer: record is NULL");

  std::string enc;
  int rc = serialise(record, enc, 0);
  if (rc != 0) return rc;
  auto it = dedup_.find(enc);
  uint32_t off;
  if (it != dedup_.end()) {
    off = it->second;
  } else {
    if (data_.size() + enc.size() > 0xF0000000u) return core::set_error(HP_ELIMIT, "geo_writer: data over 4 GiB");
    off = static_cast<uint32_t>(data_.size());
    data_ += enc;
    dedup_.emplace(std::move(enc), off);
  }
  uint32_t node = 0;
  for (unsigned d = 0; d < depth; d++) {
    unsigned bit = (key[d >> 3] >> (7 - (d & 7))) & 1;
    if (d + 1 == depth) {
      nodes_[node].kind[bit] = 2;
      nodes_[node].val[bit] = off;
      break;
    }
    if (nodes_[node].kind[bit] != 1) {
      Node n;
      if (nodes_[node].kind[bit] == 2) {  // split a shorter network
        n.kind[0] = n.kind[1] = 2;
        n.val[0] = n.val[1] = nodes_[node].val[bit];
      }
      nodes_.push_back(n);
      nodes_[node].kind[bit] = 1;
      nodes_[node].val[bit] = static_cast<uint32_t>(nodes_.size() - 1);
    }
    node = nodes_[node].val[bit];
  }
  return 0;
}

int Writer::write(const std::string &path) {
  // Number the reachable nodes in breadth-first order.
  std::vector<uint32_t> order{0};
  std::vector<uint32_t> number(nodes_.size(), UINT32_MAX);
  number[0] = 0;
  for (size_t i = 0; i < order.size(); i++) {
    const Node &n = nodes_[order[i]];
    for (int b = 0; b < 2; b++)
      if (n.kind[b] == 1 && number[n.val[b]] == UINT32_MAX) {
        number[n.val[b]] = static_cast<uint32_t>(order.size());
        order.push_back(n.val[b]);
      }
  }
  uint64_t count = order.size();
  uint64_t max_value = count + 16 + data_.size();
  unsigned rs = record_size_;
  if (!rs) rs = max_value < (1ull << 24) ? 24 : max_value < (1ull << 28) ? 28 : 32;
  if (max_value >= (1ull << rs)) return core::set_error(HP_ELIMIT, "geo_writer: database too large for record size");
  std::string out;
  out.reserve(count * rs / 4 + data_.size() + 256);
  for (uint32_t id : order) {
    const Node &n = nodes_[id];
    uint64_t v[2];
    for (int b = 0; b < 2; b++)
      v[b] = n.kind[b] == 0 ? count : n.kind[b] == 1 ? number[n.val[b]] : count + 16 + n.val[b];
    if (rs == 24) {
      put_be(out, v[0], 3);
      put_be(out, v[1], 3);
    } else if (rs == 28) {
      put_be(out, v[0] & 0xffffff, 3);
      out.push_back(static_cast<char>(((v[0] >> 24) & 0x0f) << 4 | ((v[1] >> 24) & 0x0f)));
      put_be(out, v[1] & 0xffffff, 3);
    } else {
      put_be(out, v[0], 4);
      put_be(out, v[1], 4);
    }
  }
  out.append(16, '\0');
  out += data_;
  out += "\xAB\xCD\xEFMaxMind.com";
  // Metadata map (keys in the order the format's reference writer uses).
  encode_header(out, HP_GEO_MAP, 9);
  put_str(out, "binary_format_major_version");
  put_uint(out, HP_GEO_UINT16, 2);
  put_str(out, "binary_format_minor_version");
  put_uint(out, HP_GEO_UINT16, 0);
  put_str(out, "build_epoch");
  put_uint(out, HP_GEO_UINT64, epoch_ ? epoch_ : static_cast<uint64_t>(std::time(nullptr)));
  put_str(out, "database_type");
  put_str(out, type_);
  put_str(out, "description");
  encode_header(out, HP_GEO_MAP, description_.empty() ? 0 : 1);
  if (!description_.empty()) {
    put_str(out, "en");
    put_str(out, description_);
  }
  put_str(out, "ip_version");
  put_uint(out, HP_GEO_UINT16, ip_version_);
  put_str(out, "languages");
  encode_header(out, HP_GEO_ARRAY, languages_.size());
  for (auto &l : languages_) put_str(out, l);
  put_str(out, "node_count");
  put_uint(out, HP_GEO_UINT32, count);
  put_str(out, "record_size");
  put_uint(out, HP_GEO_UINT16, rs);

  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    int err = errno;
    return core::set_sys_error(HP_EIO, err, "open", tmp, "geo_writer: cannot create '", tmp, "': ", std::strerror(err));
  }
  bool ok = std::fwrite(out.data(), 1, out.size(), f) == out.size();
  ok = (std::fclose(f) == 0) && ok;
  const char *call = ok ? "rename" : "write";
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::remove(tmp.c_str());
    return core::set_sys_error(HP_EIO, err, call, path, "geo_writer: cannot write '", path, "': ", std::strerror(err));
  }
  return 0;
}

}  // namespace hp::geo
