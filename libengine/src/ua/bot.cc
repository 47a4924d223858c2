// Bots: crawlers, link-preview fetchers, monitors, HTTP libraries and CLIs.
// One pass over the words of the string (runs of letters, digits, '-', '_'
// and '.'): a word containing "bot", "crawl", "spider" or "slurp", or a word
// from the table of known fetchers and libraries, marks a bot.
#include <cstring>

#include "ua/detect.h"

namespace hp::ua {

namespace {

struct WordTable {
  static constexpr int kSlots = 256;
  const char *slots[kSlots] = {};
  uint8_t lens[kSlots] = {};

  static uint32_t hash(const char *p, uint32_t n) {
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) h = (h ^ static_cast<uint8_t>(lower(p[i]))) * 16777619u;
    return h;
  }

  WordTable() {
    static const char *const words[] = {
        "curl", "wget", "python-requests", "python-urllib", "python-httpx", "aiohttp", "httpx",
        "go-http-client", "okhttp", "axios", "node-fetch", "undici", "java", "apache-httpclient",
        "libwww-perl", "lwp-trivial", "postmanruntime", "insomnia", "httpie", "scrapy", "ia_archiver",
        "facebookexternalhit", "facebookcatalog", "mediapartners-google", "feedfetcher-google",
        "google-inspectiontool", "googleother", "google-extended", "apis-google", "google-read-aloud",
        "chatgpt-user", "perplexity-user", "claude-user", "claude-web", "anthropic-ai", "cohere-ai",
        "diffbot", "yeti", "whatsapp", "chrome-lighthouse", "pingdom", "zgrab", "masscan", "nmap",
        "nikto", "sqlmap", "guzzlehttp", "wordpress", "embedly", "bitlybot", "skypeuripreview",
        "lighthouse", "ahrefssiteaudit", "screaming", "nutch",
        "heritrix", "archive.org_bot", "linkcheck", "w3c_validator", "validator.nu", "feedburner",
        "feedly", "newspaper", "python", "php", "ruby", "perl", "rest-client", "dart", "reqwest",
        "hackney", "http_request2", "jakarta", "winhttp", "wininet", "zend_http_client",
        "mechanize", "pycurl", "fasthttp", "colly", "httpunit", "htmlunit", "libcurl", "cfnetwork-bot",
        "uptime", "statuscake", "site24x7", "newrelicpinger", "datadog", "gtmetrix", "pagespeed",
        "google-pagerenderer", "google-structured-data-testing-tool", "duckassistbot", "mistralai-user",
        "meta-externalagent", "meta-externalfetcher", "bytespider", "tiktokspider", "petalbot",
        "ccbot", "gptbot", "oai-searchbot", "amazonbot", "applebot", "imagesiftbot", "omgili",
        "img2dataset", "timpibot", "velenpublicwebcrawler", "webzio-extended", "firecrawlagent",
    };
    for (const char *w : words) {
      uint32_t n = static_cast<uint32_t>(std::strlen(w));
      uint32_t i = hash(w, n) & (kSlots - 1);
      while (slots[i]) i = (i + 1) & (kSlots - 1);
      slots[i] = w;
      lens[i] = static_cast<uint8_t>(n);
    }
  }

  bool has_hashed(uint32_t h, const char *p, uint32_t n) const {
    if (n == 0 || n > 64) return false;
    uint32_t i = h & (kSlots - 1);
    while (slots[i]) {
      if (lens[i] == n && ieq_n(p, slots[i], n)) return true;
      i = (i + 1) & (kSlots - 1);
    }
    return false;
  }
};

const WordTable &table() {
  static const WordTable t;
  return t;
}

constexpr uint64_t tag(const char *s, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}
constexpr uint64_t kBot = tag("bot", 3);
constexpr uint64_t kCrawl = tag("crawl", 5);
constexpr uint64_t kSlurp = tag("slurp", 5);
constexpr uint64_t kSpider = tag("spider", 6);

inline bool word_char(char c) { return is_word(c) || c == '-' || c == '.'; }

// "bot", "crawl", "spider", "slurp" inside a word; "Cubot" phones excluded.
bool marker(const char *p, uint32_t n) {
  for (uint32_t i = 0; i + 3 <= n; i++) {
    char c = lower(p[i]);
    if (c == 'b' && lower(p[i + 1]) == 'o' && lower(p[i + 2]) == 't') {
      if (n == 5 && ieq_n(p, "cubot", 5)) return false;
      if (i + 3 < n && lower(p[i + 3]) == 't') continue;  // "bottom"
      return true;
    }
    if (c == 'c' && i + 5 <= n && ieq_n(p + i, "crawl", 5)) return true;
    if (c == 's' && i + 6 <= n && ieq_n(p + i, "spider", 6)) return true;
    if (c == 's' && i + 5 <= n && ieq_n(p + i, "slurp", 5)) return true;
  }
  return false;
}

}  // namespace

bool detect_bot(const Scan &s) {
  const WordTable &words = table();
  const char *p = s.all.p;
  uint32_t n = s.all.n;
  uint32_t i = 0;
  while (i < n) {
    while (i < n && !word_char(p[i])) i++;
    uint32_t start = i;
    // Versions and numbers ("537.36", "10_15_7") are neither markers nor
    // names in the table: skip them without looking further.
    if (i < n && is_digit(p[i])) {
      while (i < n && word_char(p[i])) i++;
      continue;
    }
    // One pass over the word: its hash for the table, and whether it holds
    // a 'b', 'c' or 's' that could start a marker.
    uint32_t h = 2166136261u;
    uint64_t last = 0;  // the word's last 8 bytes, lower case
    bool maybe = false;
    while (i < n && word_char(p[i])) {
      char c = lower(p[i]);
      last = (last << 8) | static_cast<uint8_t>(c);
      maybe |= (last & 0xffffff) == kBot || (last & 0xffffffffff) == kCrawl || (last & 0xffffffffff) == kSlurp ||
               (last & 0xffffffffffff) == kSpider;
      h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
      i++;
    }
    uint32_t len = i - start;
    // Trailing dots are punctuation ("spider." in a sentence).
    if (len && p[start + len - 1] == '.') {
      while (len && p[start + len - 1] == '.') len--;
      h = WordTable::hash(p + start, len);
    }
    if (len == 0) continue;
    if ((maybe && marker(p + start, len)) || words.has_hashed(h, p + start, len)) return true;
  }
  return false;
}

}  // namespace hp::ua
