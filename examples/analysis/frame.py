"""The access-log analysis of analyze.py as a pandas workflow: the log as a
DataFrame, enriched with columns from hotpath, grouped, and plotted with
matplotlib.

    python3 examples/analysis/frame.py access.log --out report/

writes ``report/by_country_device.csv`` (country, device_type, requests,
busiest first) and ``report/by_country_device.png`` (the busiest countries,
stacked by device type). Needs ``pip install pandas matplotlib``.

``GeoReader.lookup_many(..., errors="coerce")`` enriches the whole address
column in one native call; a line whose first field is not an IP address
gets no country (None), as a missing value would, instead of failing the
batch. ``ua.parse_many`` parses each distinct user agent once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from hotpath import ua
from hotpath.geo import GeoReader

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB = ROOT / "tests" / "fixtures" / "maxmind" / "test-data" / "GeoIP2-City-Test.mmdb"
UNKNOWN = "unknown"
# The combined log format split on spaces outside quotes:
# ip ident user [time zone] "request" status bytes "referrer" "user agent"
COLUMNS = {0: "ip", 6: "status", 7: "bytes", 9: "user_agent"}


def read_log(path: Path) -> pd.DataFrame:
    """One row per line: ip, status, bytes, user_agent."""
    frame = pd.read_csv(path, sep=" ", header=None, quotechar='"', usecols=list(COLUMNS), dtype=str,
                        keep_default_na=False, engine="c")
    frame = frame.rename(columns=COLUMNS)
    frame["status"] = pd.to_numeric(frame["status"], errors="coerce").astype("Int64")
    frame["bytes"] = pd.to_numeric(frame["bytes"], errors="coerce").astype("Int64")
    return frame


def enrich(frame: pd.DataFrame, geo: GeoReader) -> pd.DataFrame:
    """Adds country, city and asn from the databases (None where they have
    nothing or the address is malformed) and device_type from the user agent."""
    columns = geo.lookup_many(frame["ip"].tolist(), errors="coerce")
    out = frame.assign(
        country=pd.Series(columns["country_code"], index=frame.index, dtype="object"),
        city=pd.Series(columns["city"], index=frame.index, dtype="object"),
        asn=pd.Series(columns["asn"], index=frame.index, dtype="Int64"),
    )
    agents = frame["user_agent"].unique().tolist()
    device = {agent: parsed["device_type"] or UNKNOWN for agent, parsed in zip(agents, ua.parse_many(agents))}
    out["device_type"] = frame["user_agent"].map(device)
    return out


def by_country_and_device(frame: pd.DataFrame) -> pd.DataFrame:
    """requests per (country, device_type), busiest first; "unknown" for
    addresses without a country."""
    counts = (
        frame.assign(country=frame["country"].fillna(UNKNOWN))
        .groupby(["country", "device_type"])
        .size()
        .rename("requests")
        .reset_index()
    )
    return counts.sort_values(["requests", "country", "device_type"], ascending=[False, True, True],
                              ignore_index=True)


def plot(summary: pd.DataFrame, path: Path, top: int = 15) -> None:
    """A stacked bar chart of the ``top`` countries by device type, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = summary.pivot_table(index="country", columns="device_type", values="requests", aggfunc="sum",
                                fill_value=0)
    table = table.loc[table.sum(axis=1).nlargest(top).index]
    ax = table.plot(kind="bar", stacked=True, figsize=(10, 5.5), rot=0)
    ax.set_ylabel("requests")
    ax.set_title(f"Requests by country and device type (top {len(table)} countries)")
    ax.legend(title="device type")
    ax.figure.tight_layout()
    ax.figure.savefig(path, dpi=100)
    plt.close(ax.figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", type=Path, help="access log in the combined log format")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help="City or Country .mmdb (default: the test one)")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the CSV and the PNG")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    with GeoReader(str(args.db)) as geo:
        frame = enrich(read_log(args.log), geo)
    summary = by_country_and_device(frame)
    csv_path, png_path = args.out / "by_country_device.csv", args.out / "by_country_device.png"
    summary.to_csv(csv_path, index=False)
    plot(summary, png_path)
    print(f"{len(frame):,} requests, {frame['country'].notna().sum():,} with a country; wrote {csv_path} and {png_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
