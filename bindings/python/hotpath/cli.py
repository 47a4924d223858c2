"""The ``hotpath`` command: ``python -m hotpath``, the ``hotpath`` console
script, and the npm package's ``hotpath`` bin (bindings/node/bin/hotpath.js)
take the same verbs and print the same lines, one JSON object each (keys in
snake_case, ``null`` where a value is absent, whole floats as integers).

    hotpath geo lookup [--db FILE] IP...
    hotpath geo build CSV OUT.mmdb
    hotpath ua parse < agents.txt
    hotpath blobs ls|put|get|rm|stat STORE ...
    hotpath limits check SPEC KEY --rate N [--period-ms MS] [--burst N] [--cost N]
    hotpath recipes stats FILE --key FIELD [--key-type int|string]

Exit status: 0, or 1 when something failed (the message on stderr; the
other items of the command still run), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

from . import blobs, errors, geo, limits, recipes, ua

UA_FIELDS = ("browser", "browser_version", "engine", "engine_version", "os", "os_version", "device_type",
             "vendor", "model", "cpu", "is_bot")
STAT_FIELDS = ("id", "filename", "revision", "length", "chunk_size", "content_type", "sha256", "upload_date_ms")
RATE_FIELDS = ("allowed", "remaining", "retry_after_ms", "reset_after_ms")
RECIPE_FIELDS = ("size", "items", "skipped", "duplicates", "embedded_errors", "rule_errors", "file_bytes",
                 "json_bytes")
SAFE_INTEGER = 2**53 - 1


def plain(value: Any) -> Any:
    """The value as the JSON both commands print: bytes as hex, whole floats
    as ints, ints beyond 2**53 as strings (JavaScript numbers stop there)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) <= SAFE_INTEGER:
        return int(value)
    if isinstance(value, int) and abs(value) > SAFE_INTEGER:
        return str(value)
    return value


def emit(value: Any) -> None:
    sys.stdout.write(json.dumps(plain(value), ensure_ascii=False, separators=(",", ":")) + "\n")


class Failures:
    """Counts failed items; each is reported on stderr as it happens."""

    def __init__(self) -> None:
        self.count = 0

    def report(self, command: str, error: BaseException) -> None:
        self.count += 1
        print(f"hotpath {command}: {error}", file=sys.stderr)


def geo_lookup(args: argparse.Namespace, failures: Failures) -> None:
    db = args.db or os.environ.get("HOTPATH_GEO_DB")
    if not db:
        raise ValueError("no database: pass --db FILE or set HOTPATH_GEO_DB")
    with geo.GeoReader(db) as reader:
        for ip in args.ips:
            try:
                record, prefix = reader.get_with_prefix_len(ip)
            except errors.Error as e:
                failures.report("geo lookup", e)
                continue
            emit({"ip": ip, "prefix_length": prefix, "record": record})


def csv_records(path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(network, record) per row of a CSV whose header is network,field,...;
    a field named a.b nests ({"a": {"b": ...}}); empty cells are left out."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if not header or header[0] != "network":
            raise ValueError(f"{path}: the first column must be 'network'")
        for row in rows:
            if not row:
                continue
            record: dict[str, Any] = {}
            for name, cell in zip(header[1:], row[1:]):
                if cell == "":
                    continue
                *parents, leaf = name.split(".")
                node = record
                for part in parents:
                    node = node.setdefault(part, {})
                node[leaf] = cell
            yield row[0], record


def geo_build(args: argparse.Namespace, failures: Failures) -> None:
    entries = list(csv_records(args.csv))
    geo.write_database(args.out, entries, database_type="hotpath-csv")
    emit({"path": args.out, "networks": len(entries)})


def ua_parse(args: argparse.Namespace, failures: Failures) -> None:
    for line in sys.stdin:
        parsed = ua.parse(line.rstrip("\r\n"))
        emit({name: parsed.get(name) for name in UA_FIELDS})


def blob_stat(stat: blobs.BlobStat) -> dict[str, Any]:
    out: dict[str, Any] = {name: stat.get(name) for name in STAT_FIELDS}
    out["metadata"] = json.loads(stat["metadata_json"]) if stat.get("metadata_json") else {}
    return out


def blobs_command(args: argparse.Namespace, failures: Failures) -> None:
    store = blobs.Blobs.open(args.store)
    try:
        if args.action == "ls":
            cursor: str | None = None
            while True:
                files, cursor = store.list(args.prefix or "", cursor=cursor)
                for stat in files:
                    emit(blob_stat(stat))
                if cursor is None:
                    break
        elif args.action == "put":
            if args.file in (None, "-"):
                data = sys.stdin.buffer.read()
            else:
                with open(args.file, "rb") as f:
                    data = f.read()
            emit(blob_stat(store.put(args.name, data, content_type=args.content_type)))
        elif args.action == "get":
            sys.stdout.buffer.write(store.get(args.name))
            sys.stdout.buffer.flush()
        elif args.action == "rm":
            emit({"deleted": store.delete(args.name)})
        else:
            emit(blob_stat(store.stat(args.name)))
    finally:
        store.close()


def limits_check(args: argparse.Namespace, failures: Failures) -> None:
    limiter = limits.Limiter(args.spec)
    try:
        result = limiter.hit(args.key, rate=args.rate, period_ms=args.period_ms, burst=args.burst, cost=args.cost)
        emit({name: result[name] for name in RATE_FIELDS})  # type: ignore[literal-required]
    finally:
        limiter.close()


def recipes_stats(args: argparse.Namespace, failures: Failures) -> None:
    with recipes.Recipes() as rset:
        table = rset.define("recipes", key=args.key, key_type=args.key_type)
        stats = table.load(args.file)
        emit({name: stats[name] for name in RECIPE_FIELDS})  # type: ignore[literal-required]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="hotpath", description=(__doc__ or "").split("\n\n")[0],
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    groups = top.add_subparsers(dest="group", required=True, metavar="{geo,ua,blobs,limits,recipes}")

    g = groups.add_parser("geo", help="MaxMind DB lookups and files").add_subparsers(dest="action", required=True)
    p = g.add_parser("lookup", help="the record of each address (JSON per line, like mmdblookup)")
    p.add_argument("--db", help="the .mmdb file (default: $HOTPATH_GEO_DB)")
    p.add_argument("ips", nargs="+", metavar="IP")
    p.set_defaults(run=geo_lookup)
    p = g.add_parser("build", help="write a .mmdb from a CSV: network,field,... (a.b names nest)")
    p.add_argument("csv", metavar="CSV")
    p.add_argument("out", metavar="OUT.mmdb")
    p.set_defaults(run=geo_build)

    u = groups.add_parser("ua", help="user-agent parsing").add_subparsers(dest="action", required=True)
    u.add_parser("parse", help="user agents on stdin, one per line; a JSON line each").set_defaults(run=ua_parse)

    b = groups.add_parser("blobs", help="chunked file storage (sqlite:PATH or redis://HOST:PORT/DB)")
    bs = b.add_subparsers(dest="action", required=True)
    p = bs.add_parser("ls", help="the files whose name starts with PREFIX, every revision")
    p.add_argument("store", metavar="STORE")
    p.add_argument("prefix", nargs="?", metavar="PREFIX")
    p = bs.add_parser("put", help="store FILE (stdin when - or left out) as NAME")
    p.add_argument("store", metavar="STORE")
    p.add_argument("name", metavar="NAME")
    p.add_argument("file", nargs="?", metavar="FILE")
    p.add_argument("--content-type", default=None)
    for action, text in (("get", "write NAME's latest revision to stdout"), ("rm", "delete every revision of NAME"),
                         ("stat", "the latest revision's metadata")):
        p = bs.add_parser(action, help=text)
        p.add_argument("store", metavar="STORE")
        p.add_argument("name", metavar="NAME")
    b.set_defaults(run=blobs_command)

    lim = groups.add_parser("limits", help="rate limits").add_subparsers(dest="action", required=True)
    p = lim.add_parser("check", help="one GCRA hit on KEY: RATE per PERIOD_MS in bursts of BURST")
    p.add_argument("spec", metavar="SPEC", help="memory, sqlite:PATH or redis://HOST:PORT/DB")
    p.add_argument("key", metavar="KEY")
    p.add_argument("--rate", type=int, required=True)
    p.add_argument("--period-ms", type=int, default=1000)
    p.add_argument("--burst", type=int, default=None)
    p.add_argument("--cost", type=int, default=1)
    p.set_defaults(run=limits_check)

    r = groups.add_parser("recipes", help="recipe files").add_subparsers(dest="action", required=True)
    p = r.add_parser("stats", help="load FILE (a JSON array, plain or gzip) and print its counters")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--key", required=True, help="the field that keys each record")
    p.add_argument("--key-type", choices=("int", "string"), default="int")
    p.set_defaults(run=recipes_stats)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    failures = Failures()
    command = f"{args.group} {args.action}"
    try:
        args.run(args, failures)
    except (errors.Error, OSError, ValueError, TypeError) as e:
        failures.report(command, e)
    except BrokenPipeError:
        return 1
    return 1 if failures.count else 0
