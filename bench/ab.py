"""`make bench-ab AB_REV=<rev>`: this checkout's server against another revision's, interleaved.

This VM's speed drifts by up to 2x within minutes, so two `make bench` runs one after the other
cannot show a 10 % change. Here both servers run side by side on one database (the other
revision from a temporary `git worktree`, served from its own code), and short phases take turns
in ABBA order: flash-sale bookings at 64 clients (every request a distinct user), then the
trivial DRF endpoint, on A then B, then B then A, and so on. Each revision's rounds are summed;
drift weighs on both alike. Only one server is under load at a time.

Prints bookings/s, p50 and p99, the trivial endpoint's req/s and the flash/trivial ratio per
revision, and B/A. Any answer but 201 (bookings) or 200 (trivial) fails the run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.run import BENCH_NAMESPACE, ROOT, clean_redis, make_fixtures, start_bench_server
from devtools import harness

AB_DB = "boxoffice_bench_ab"
GIT = shutil.which("git") or "git"


def _worktree(rev: str, into: Path) -> Path:
    subprocess.run(
        [GIT, "worktree", "add", "--detach", "--quiet", str(into), rev], cwd=ROOT, check=True
    )
    return into


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rev", required=True, help="revision A (B is this checkout)")
    parser.add_argument("--rounds", type=int, default=4, help="ABBA rounds (an even number)")
    parser.add_argument("--seconds", type=float, default=6.0, help="seconds per phase")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--workers", type=int, default=max(2, 2 * (os.cpu_count() or 1) - 1))
    # The same code with another worker count: AB_REV=HEAD AB_ARGS="--workers-b 2".
    parser.add_argument("--workers-a", type=int, help="A's processes (default --workers)")
    parser.add_argument("--workers-b", type=int, help="B's processes (default --workers)")
    parser.add_argument("--users", type=int, default=40000)
    args = parser.parse_args(argv)
    os.environ.setdefault("JWT_ACCESS_MINUTES", "120")
    os.environ["CACHE_KEY_PREFIX"] = BENCH_NAMESPACE
    from bench import loadgen

    print(f"Preparing database {AB_DB} and {args.users} users ...", flush=True)
    url, _dsn = harness.scratch_database(AB_DB)
    harness.setup_django(url)
    fixtures = make_fixtures(users=args.users, last_seats=50, queue_seats=10)
    tokens = iter(fixtures["tokens"])
    body = {
        "event": str(fixtures["event"].pk),
        "items": [{"ticket_type": str(fixtures["types"]["flash"].pk), "quantity": 1}],
    }
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as scratch:
        other = _worktree(args.rev, Path(scratch) / "a")
        servers: dict[str, tuple[int, Any]] = {}
        try:
            for label, cwd, workers in (
                ("A", other, args.workers_a or args.workers),
                ("B", ROOT, args.workers_b or args.workers),
            ):
                port = harness.free_port()
                server = start_bench_server(
                    port=port, workers=workers, database_url=url, server="granian", cwd=cwd
                )
                servers[label] = (port, server)
            phases: dict[str, dict[str, list[loadgen.Phase]]] = {
                label: {"flash": [], "trivial": []} for label in servers
            }
            for round_ in range(args.rounds):
                for label in ("A", "B") if round_ % 2 == 0 else ("B", "A"):
                    port, _ = servers[label]
                    host = f"127.0.0.1:{port}"

                    trivial = loadgen.http_request("GET", "/bench/trivial/", host=host)

                    def plain(raw: bytes = trivial) -> bytes | None:
                        return raw

                    print(f"Round {round_ + 1}, {label}: flash sale, trivial ...", flush=True)
                    phases[label]["flash"].append(
                        loadgen.run_phase(
                            "flash", clients=args.clients, duration=args.seconds, port=port,
                            requests=loadgen.bookings(tokens, host=host, body=body),
                        )
                    )  # fmt: skip
                    phases[label]["trivial"].append(
                        loadgen.run_phase(
                            "trivial", clients=args.clients, duration=args.seconds, port=port,
                            requests=plain,
                        )
                    )  # fmt: skip
        finally:
            for _, server in servers.values():
                harness.stop(server)
            clean_redis()
            subprocess.run(
                [GIT, "worktree", "remove", "--force", str(other)], cwd=ROOT, check=False
            )
    return report(args, phases)


def report(args: argparse.Namespace, phases: dict[str, dict[str, list[Any]]]) -> int:
    from bench import loadgen

    workers = f"{args.workers_a or args.workers} and {args.workers_b or args.workers} processes"
    print(
        f"\nA = {args.rev}, B = this checkout ({workers}); {args.rounds} ABBA rounds of "
        f"{args.seconds:g} s, {args.clients} clients"
    )
    print(f"{'':4}{'bookings/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'trivial/s':>11}{'ratio':>8}")
    rates: dict[str, float] = {}
    failed = False
    for label, kinds in phases.items():
        flash = loadgen.merge("flash", kinds["flash"])
        trivial = loadgen.merge("trivial", kinds["trivial"])
        unexpected = flash.requests - flash.statuses[201] + trivial.requests - trivial.statuses[200]
        failed = failed or unexpected > 0
        rates[label] = flash.rate(201)
        ratio = flash.rate(201) / trivial.rate() if trivial.rate() else 0.0
        print(
            f"{label:4}{flash.rate(201):12.1f}{flash.percentile(0.5):9.0f}"
            f"{flash.percentile(0.99):9.0f}{trivial.rate():11.1f}{ratio:8.3f}"
            + (f"  {unexpected} unexpected answers" if unexpected else "")
        )
    if rates.get("A"):
        print(f"B/A bookings/s: {rates['B'] / rates['A']:.3f}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
