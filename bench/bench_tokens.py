"""Party-side throughput: ``link --role campaign`` end to end on generated voters.

Generates a world of ``BENCH_VOTERS`` voters (default 1,000,000), creates keys for the
parties, then times the whole campaign step (CSV in → normalize → tokens → sealed labels →
signed Parquet out) and, in the same run, bare HMAC-SHA256 over the very same canonical
messages (the floor: what hashing alone costs). Prints records/s for both and the ratio.

    BENCH_VOTERS=1000000 BENCH_REPEAT=3 python -m bench tokens

A state's voter file (``BENCH_VOTERS=8000000 BENCH_REPEAT=1``) fits a 24 GB machine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from hashing import _crypto
from hashing.engagement import load_engagement
from hashing.keys import ScryptParams, link_secret, recipe_key
from hashing.party import GROUP_RECIPE, read_input, run_party
from hashing.tokens import recipe_messages
from hashing.workspace import Workspace
from samples.generate import generate_voter_file

ROOT = Path(__file__).resolve().parent.parent


def _setup(tmp: Path, voters: int) -> tuple[Path, Path, dict[str, Workspace]]:
    # Only the voter file is generated (the same bytes as the world's): building a whole
    # world's subscribers and viewing too would take twice the memory at state size.
    world = tmp / "world"
    generate_voter_file(world / "campaign" / "voters.csv", voters=voters, seed=1)
    text = (ROOT / "samples" / "engagement.toml").read_text(encoding="utf-8")
    engagement_dir = tmp / "engagement"
    (engagement_dir / "keys").mkdir(parents=True)
    (engagement_dir / "engagement.toml").write_text(text, encoding="utf-8")
    spaces = {}
    for role in ("campaign", "operator", "matcher", "measurement", "auditor"):
        ws = Workspace.create(tmp / role, role)
        ws.new_identity(b"bench-passphrase", scrypt=ScryptParams.for_tests())
        ws.bundle_path.replace(engagement_dir / "keys" / f"{role}.pub.json")
        spaces[role] = ws
    return world, engagement_dir / "engagement.toml", spaces


def _time_command(engagement_path: Path, ws: Workspace, voters_csv: Path) -> float:
    link = Path(sys.executable).with_name("link")
    argv = [str(link)] if link.exists() else [sys.executable, str(ROOT / "cli.py")]
    argv += ["--role", "campaign", "--engagement", str(engagement_path)]
    argv += ["--workspace", str(ws.root), "--input", str(voters_csv)]
    env = {**os.environ, "BLINDLINK_PASSPHRASE": "bench-passphrase"}
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    voters = int(os.environ.get("BENCH_VOTERS", "1000000"))
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        world, engagement_path, spaces = _setup(tmp, voters)
        load = os.getloadavg()[0]
        engagement = load_engagement(engagement_path)
        ws = spaces["campaign"]
        identity = ws.load_identity(b"bench-passphrase")
        voters_csv = world / "campaign" / "voters.csv"

        full: list[float] = []
        command: list[float] = []
        rows = 0
        for i in range(repeat):
            # A party publishes once per engagement: start each run from an empty outbox.
            # Last run's files are moved aside, not deleted (deleting ~300 MB, with the
            # disk's discards, would run into the next run), and what the generator and
            # the last run left unwritten is flushed first, or this run's fsync would
            # wait for hundreds of MB that are not its output.
            if ws.outbox.exists():
                ws.outbox.rename(tmp / f"outbox-{i}")
            ws.outbox.mkdir()
            os.sync()
            start = time.perf_counter()
            summary = run_party(engagement, "campaign", voters_csv, ws, identity)
            full.append(time.perf_counter() - start)
            rows = summary.rows_in
            # The same step as the user runs it, alternating with the in-process runs:
            # the whole `link --role campaign` command, interpreter start, imports, key
            # unlocking and exit included.
            ws.outbox.rename(tmp / f"outbox-{i}-step")
            ws.outbox.mkdir()
            os.sync()
            command.append(_time_command(engagement_path, ws, voters_csv))

        # The floor: the same canonical messages (every recipe's, and the household group
        # token of the payloads), hashed with the same HMAC code and nothing else.
        from hashing.canonical import canonicalize

        mapping: Any = engagement.input_for("campaign")
        frame = read_input(voters_csv, mapping)
        fields = mapping.fields.model_dump(exclude_none=True)
        canonical = canonicalize(frame.lazy(), fields).collect().rechunk()
        operator_keys = spaces["operator"].load_identity(b"bench-passphrase").public
        secret = link_secret(identity, operator_keys, engagement.engagement_id)
        recipes = [*engagement.recipes, GROUP_RECIPE]
        messages = [
            (m.get_column("message"), recipe_key(secret, r.canonical_spec()))
            for r, m in zip(recipes, recipe_messages(canonical, recipes), strict=True)
        ]
        n_messages = sum(m.len() for m, _ in messages)
        floor: list[float] = []
        peer: list[float] = []
        for _ in range(repeat):
            start = time.perf_counter()
            _crypto.hmac_sha256_columns(messages)
            floor.append(time.perf_counter() - start)
            # The same HMACs through polars-hash (the engine where the extension is not
            # built): how much the compiled loop saves.
            start = time.perf_counter()
            pl.collect_all(
                [
                    m.to_frame("m").lazy().select(_crypto.hmac_sha256_expr(pl.col("m"), k))
                    for m, k in messages
                ]
            )
            peer.append(time.perf_counter() - start)

    t_full, t_floor = statistics.median(full), statistics.median(floor)
    t_command = statistics.median(command)
    engine = "compiled loop" if _crypto.native_available() else "polars-hash"
    print(f"voters: {rows:,}; HMAC messages: {n_messages:,}; cores: {os.cpu_count()}")
    print(f"HMAC engine: {engine}; load average before: {load:.2f}")
    print(
        f"campaign end to end: {t_full:.2f} s median of {repeat} -> {rows / t_full:,.0f} records/s"
        f" (runs: {', '.join(f'{t:.2f}' for t in full)} s)"
    )
    print(
        f"bare HMAC floor:     {t_floor:.2f} s median of {repeat} -> "
        f"{rows / t_floor:,.0f} records/s ({n_messages / t_floor:,.0f} HMAC/s)"
    )
    print(f"ratio end-to-end / floor: {t_full / t_floor:.2f}")
    print(
        f"the whole command:   {t_command:.2f} s median of {repeat} -> "
        f"{rows / t_command:,.0f} records/s (runs: {', '.join(f'{t:.2f}' for t in command)} s;"
        " interpreter start, imports, key unlock and exit included)"
    )
    t_peer = statistics.median(peer)
    print(
        f"same HMACs via polars-hash: {t_peer:.2f} s median -> {rows / t_peer:,.0f} records/s "
        f"(compiled loop / polars-hash: {t_floor / t_peer:.2f})"
    )
