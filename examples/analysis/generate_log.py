"""Writes a synthetic access log in the combined log format, the same lines
for the same seed: client addresses from networks the bundled test geo
databases know (tests/fixtures/maxmind) mixed with random ones they do not,
and user agents of desktops, phones, tablets and bots.

    python3 examples/analysis/generate_log.py access.log --lines 1000000
"""

from __future__ import annotations

import argparse
import ipaddress
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

# Networks of GeoIP2-City-Test.mmdb (tests/fixtures/maxmind/test-data), with
# how often a request comes from each.
KNOWN_NETWORKS = [
    ("81.2.69.160/27", 14),  # GB, London
    ("2.125.160.216/29", 4),  # GB
    ("216.160.83.56/29", 10),  # US, Milton
    ("149.101.100.0/28", 4),  # US
    ("89.160.20.128/25", 8),  # SE, Linköping
    ("175.16.199.0/24", 6),  # CN
    ("202.196.224.0/20", 3),  # PH
    ("67.43.156.0/24", 2),  # BT
    ("2001:218::/32", 6),  # JP
    ("2001:220::/32", 4),  # KR
    ("2a02:d180::/29", 5),  # DE
    ("2a02:cfc0::/29", 4),  # FR
    ("2a02:d5c0::/29", 2),  # ES
]
# The share of requests from random addresses, mostly unknown to the test data.
RANDOM_SHARE = 0.25

USER_AGENTS = [
    (("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36"), 30),
    (("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.1 Safari/605.1.15"), 10),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", 5),
    (("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.1.2 Mobile/15E148 Safari/604.1"), 20),
    (("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.6099.43 Mobile Safari/537.36"), 15),
    (("Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.1 Mobile/15E148 Safari/604.1"), 5),
    (("Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/119.0.0.0 Safari/537.36"), 3),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 6),
    ("curl/8.4.0", 3),
    ("python-requests/2.31.0", 3),
]
PATHS = ["/", "/offers", "/offers/30001", "/api/events", "/static/app.js", "/login", "/t/app_open"]
STATUSES = [(200, 85), (304, 6), (404, 5), (429, 2), (500, 2)]


Network = "ipaddress.IPv4Network | ipaddress.IPv6Network"


def _random_ip(rng: random.Random, nets: list[Network], weights: list[int]) -> str:
    if rng.random() < RANDOM_SHARE:
        return str(ipaddress.IPv4Address(rng.randrange(1 << 24, 224 << 24)))
    net = rng.choices(nets, weights)[0]
    # Hosts spread over the first 2**32 addresses of a large IPv6 network.
    return str(net.network_address + rng.randrange(min(net.num_addresses, 1 << 32)))


def generate(path: Path, lines: int, seed: int = 1) -> None:
    """Writes ``lines`` log lines to ``path``; the same seed gives the same file."""
    rng = random.Random(seed)
    nets: list[Network] = [ipaddress.ip_network(n) for n, _ in KNOWN_NETWORKS]
    weights = [w for _, w in KNOWN_NETWORKS]
    uas, ua_weights = [u for u, _ in USER_AGENTS], [w for _, w in USER_AGENTS]
    statuses, status_weights = [s for s, _ in STATUSES], [w for _, w in STATUSES]
    when = datetime(2024, 3, 1, tzinfo=timezone.utc)
    with path.open("w", encoding="utf-8") as out:
        batch = []
        for i in range(lines):
            when += timedelta(milliseconds=rng.randrange(0, 200))
            batch.append(
                f'{_random_ip(rng, nets, weights)} - - [{when:%d/%b/%Y:%H:%M:%S +0000}] '
                f'"GET {rng.choice(PATHS)} HTTP/1.1" {rng.choices(statuses, status_weights)[0]} '
                f'{rng.randrange(200, 50_000)} "-" "{rng.choices(uas, ua_weights)[0]}"\n'
            )
            if len(batch) == 10_000:
                out.writelines(batch)
                batch.clear()
        out.writelines(batch)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path, help="the log file to write")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.path, args.lines, args.seed)
    print(f"wrote {args.lines:,} lines to {args.path}")


if __name__ == "__main__":
    main()
