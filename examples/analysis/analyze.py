"""Enriches an access log (combined log format) with country and device
type, and summarises it: requests per country and device type in a CSV, and
a chart of the busiest countries as a PNG when matplotlib is installed.

Addresses go through GeoReader.lookup_many (one native call per chunk of
lines, without the GIL) and each distinct user agent through ua.parse_many
once. A progress bar shows on long runs (tqdm when installed).

    python3 examples/analysis/analyze.py access.log --out report/
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from hotpath import ua
from hotpath.errors import AddressFamilyError, InvalidArgumentError
from hotpath.geo import GeoReader

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB = ROOT / "tests" / "fixtures" / "maxmind" / "test-data" / "GeoIP2-City-Test.mmdb"
CHUNK_BYTES = 16 << 20  # about 80,000 lines of a typical access log
UNKNOWN = "unknown"
INVALID = "invalid"  # the line's first field is not an IP address


class Progress:
    """tqdm over the bytes read when it is installed, else a line on stderr
    per chunk; silent for files under ``quiet_below`` bytes."""

    def __init__(self, total_bytes: int, enabled: bool, quiet_below: int = 8 << 20) -> None:
        self.enabled = enabled and total_bytes >= quiet_below
        self.total = total_bytes
        self.done = 0
        self.bar = None
        if self.enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=total_bytes, unit="B", unit_scale=True, desc="enriching", file=sys.stderr)

    def update(self, nbytes: int, lines: int) -> None:
        self.done += nbytes
        if self.bar is not None:
            self.bar.update(nbytes)
        elif self.enabled:
            share = 100 * self.done / self.total
            print(f"\renriching: {lines:,} lines, {share:5.1f} %", end="", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            print(file=sys.stderr)


def read_chunks(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[tuple[list[str], list[str], int]]:
    """(client addresses, user agents, characters read) for each chunk of
    about ``chunk_bytes`` of whole lines; blank lines are skipped. The address
    is the first field, the user agent the last quoted one ("" if none)."""
    with path.open("r", encoding="utf-8", errors="replace", newline="") as f:
        while True:
            chunk = f.readlines(chunk_bytes)
            if not chunk:
                return
            nchars = sum(map(len, chunk))
            lines = [line.strip() for line in chunk]
            lines = [line for line in lines if line]
            ips = [line.partition(" ")[0] for line in lines]
            ends = [line.rfind('"') for line in lines]
            agents = [line[line.rfind('"', 0, e) + 1 : e] if e > 0 else "" for line, e in zip(lines, ends)]
            yield ips, agents, nchars


def countries_of(geo: GeoReader, ips: list[str]) -> list[str]:
    """Country codes of a chunk of addresses in one batch call; a chunk with
    a malformed address is looked up line by line instead, so one bad line
    costs its chunk some speed, not the run."""
    try:
        return [c or UNKNOWN for c in geo.lookup_many(ips)["country_code"]]
    except (InvalidArgumentError, AddressFamilyError):
        pass
    out = []
    for ip in ips:
        try:
            e = geo.lookup(ip)
        except (InvalidArgumentError, AddressFamilyError):
            # An IPv6 address in an IPv4-only database counts as invalid too.
            out.append(INVALID)
            continue
        out.append((e or {}).get("country_code") or UNKNOWN)
    return out


def summarise(log: Path, db: Path, extra_dbs: list[Path], progress: bool = True) -> Counter[tuple[str, str]]:
    """Requests per (country ISO code, device type); "unknown" where the
    databases have no country for an address, "invalid" where a line's
    address is malformed."""
    counts: Counter[tuple[str, str]] = Counter()
    device_of: dict[str, str] = {}
    bar = Progress(log.stat().st_size, progress)
    lines = 0
    with GeoReader(str(db), [str(p) for p in extra_dbs]) as geo:
        for ips, agents, nbytes in read_chunks(log, CHUNK_BYTES):
            countries = countries_of(geo, ips)
            new = list({a for a in agents if a not in device_of})
            for agent, parsed in zip(new, ua.parse_many(new)):
                device_of[agent] = parsed["device_type"] or UNKNOWN
            counts.update(zip(countries, (device_of[a] for a in agents)))
            lines += len(ips)
            bar.update(nbytes, lines)
    bar.close()
    return counts


def write_csv(counts: Counter[tuple[str, str]], path: Path) -> None:
    """country,device_type,requests; busiest first, ties by name."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["country", "device_type", "requests"])
        for (country, device), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            w.writerow([country, device, n])


def write_chart(counts: Counter[tuple[str, str]], path: Path, top: int = 15) -> bool:
    """A stacked bar chart of the ``top`` countries by device type; False
    when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    by_country: Counter[str] = Counter()
    for (country, _), n in counts.items():
        by_country[country] += n
    countries = [c for c, _ in by_country.most_common(top)]
    devices = sorted({d for _, d in counts})
    fig, ax = plt.subplots(figsize=(10, 5.5))
    bottom = [0] * len(countries)
    for device in devices:
        values = [counts.get((c, device), 0) for c in countries]
        ax.bar(countries, values, bottom=bottom, label=device)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel("requests")
    ax.set_title(f"Requests by country and device type (top {len(countries)} countries)")
    ax.legend(title="device type")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("log", type=Path, help="access log in the combined log format")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB,
                        help="City or Country .mmdb (default: the test one)")
    parser.add_argument("--extra-db", type=Path, action="append", default=[],
                        help="more .mmdb files to merge")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for summary.csv and summary.png")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    counts = summarise(args.log, args.db, args.extra_db, progress=not args.no_progress)
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    csv_path = args.out / "summary.csv"
    write_csv(counts, csv_path)
    rate = total / max(elapsed, 1e-9)
    print(f"{total:,} requests in {elapsed:.2f} s ({rate:,.0f} lines/s); wrote {csv_path}")
    png_path = args.out / "summary.png"
    if write_chart(counts, png_path):
        print(f"wrote {png_path}")
    else:
        print("matplotlib is not installed: no chart (pip install matplotlib)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
