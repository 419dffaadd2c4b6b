"""``run_party`` (``link --role campaign``): quarantine reasons, reconciliation, shuffled
outputs, and the same tokens from the compiled loops and from the fallback paths."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from hashing import _crypto, party
from hashing.engagement import Engagement, load_engagement
from hashing.engagement_model import CampaignInput
from hashing.keys import PartyIdentity, ScryptParams
from hashing.party import run_party
from hashing.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
VOTERS = ROOT / "samples" / "world" / "campaign" / "voters.csv"
PASS = b"party-test-passphrase"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engagement, Workspace, PartyIdentity]:
    tmp = tmp_path_factory.mktemp("party")
    (tmp / "engagement" / "keys").mkdir(parents=True)
    text = (ROOT / "samples" / "engagement.toml").read_text(encoding="utf-8")
    (tmp / "engagement" / "engagement.toml").write_text(text, encoding="utf-8")
    for role in ("campaign", "operator", "matcher", "measurement", "auditor"):
        ws = Workspace.create(tmp / role, role)
        ws.new_identity(PASS, scrypt=ScryptParams.for_tests())
        ws.bundle_path.replace(tmp / "engagement" / "keys" / f"{role}.pub.json")
    campaign = Workspace.open(tmp / "campaign")
    engagement = load_engagement(tmp / "engagement" / "engagement.toml")
    return engagement, campaign, campaign.load_identity(PASS)


def _voters_with_faults(path: Path, rows: int = 400) -> Path:
    """The first ``rows`` voters plus one row of each fault, as raw CSV bytes."""
    lines = VOTERS.read_bytes().splitlines(keepends=True)
    header, body = lines[0], lines[1 : rows + 1]
    fields = body[0].decode().rstrip("\n").split(",")
    width = len(fields)
    bad = list(fields)
    bad[0], bad[1] = "BADENC01", "JOS"  # first name gets an invalid UTF-8 byte below
    empty = ["NOFIELDS1"] + [""] * (width - 1)
    missing = ["", *fields[1:]]
    duplicate = list(body[1].decode().rstrip("\n").split(","))
    extra = [
        ",".join(bad).encode().replace(b"JOS", b"JOS\xe9", 1) + b"\n",
        (",".join(empty) + "\n").encode(),
        (",".join(missing) + "\n").encode(),
        (",".join(duplicate) + "\n").encode(),
    ]
    path.write_bytes(header + b"".join(body) + b"".join(extra))
    return path


def _tokens_by_id(ws: Workspace) -> pl.DataFrame:
    crosswalk = pl.read_parquet(ws.private / "crosswalk.parquet")
    tokens = pl.read_parquet(ws.outbox / "campaign.tokens.parquet")
    return tokens.join(crosswalk.select("ref", "id"), on="ref").select("id", "recipe", "token")


def test_faulty_rows_are_quarantined_by_reason_and_counts_reconcile(
    setup: tuple[Engagement, Workspace, PartyIdentity], tmp_path: Path
) -> None:
    engagement, ws, identity = setup
    source = _voters_with_faults(tmp_path / "voters.csv")
    summary = run_party(engagement, "campaign", source, ws, identity)
    assert summary.rows_in == 404
    assert summary.reconciles
    reasons = summary.quarantine_reasons
    assert reasons.get("bad_encoding") == 1
    assert reasons.get("no_identifying_field") == 1
    assert reasons.get("missing_id") == 1
    assert reasons.get("duplicate_id") == 2  # both rows sharing the ID
    quarantine = pl.read_parquet(ws.private / "quarantine.parquet")
    assert quarantine.height == summary.rows_quarantined
    assert quarantine.get_column("row").is_sorted()
    assert set(quarantine.filter(pl.col("reason") == "bad_encoding").get_column("row")) == {401}
    crosswalk = pl.read_parquet(ws.private / "crosswalk.parquet")
    assert crosswalk.height == summary.rows_tokenized
    # Outputs follow a random order, not the file's.
    assert not crosswalk.get_column("_row").is_sorted()
    payloads = pl.read_parquet(ws.outbox / "campaign.payloads.parquet")
    assert set(payloads.get_column("ref")) == set(crosswalk.get_column("ref"))
    tokens = pl.read_parquet(ws.outbox / "campaign.tokens.parquet")
    assert set(tokens.get_column("ref")) == set(crosswalk.get_column("ref"))
    assert sum(summary.tokens_per_recipe.values()) == tokens.height


def test_fallback_paths_give_the_same_tokens(
    setup: tuple[Engagement, Workspace, PartyIdentity],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engagement, ws, identity = setup
    source = _voters_with_faults(tmp_path / "voters.csv", rows=300)
    run_party(engagement, "campaign", source, ws, identity)
    fast = _tokens_by_id(ws).sort(pl.all())
    monkeypatch.setattr(_crypto, "_native", None)
    run_party(engagement, "campaign", source, ws, identity)
    slow = _tokens_by_id(ws).sort(pl.all())
    assert fast.height > 300
    assert fast.equals(slow)


def _fail(*args: object, **kwargs: object) -> None:
    raise RuntimeError("simulated failure")


@pytest.mark.parametrize(
    "broken",
    [
        "rows_with_token",  # while the token artifact is being written
        "_write_private",  # after the payloads were handed to their writer too
        "tokens write",  # the token artifact itself cannot be written
    ],
)
def test_a_failed_run_leaves_no_half_publication(
    setup: tuple[Engagement, Workspace, PartyIdentity],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    broken: str,
) -> None:
    engagement, ws, identity = setup
    source = _voters_with_faults(tmp_path / "voters.csv", rows=50)
    run_party(engagement, "campaign", source, ws, identity)  # a previous, complete pair
    assert len(list(ws.outbox.glob("campaign.*"))) == 4

    if broken == "tokens write":
        write = Workspace.write

        def failing_write(self: Workspace, df: pl.DataFrame, name: str, **kw: object) -> object:
            if name.endswith(".tokens"):
                _fail()
            return write(self, df, name, **kw)  # type: ignore[arg-type]

        monkeypatch.setattr(Workspace, "write", failing_write)
    else:
        monkeypatch.setattr(party, broken, _fail)
    with pytest.raises(RuntimeError, match="simulated"):
        run_party(engagement, "campaign", source, ws, identity)
    # Neither this run's artifacts nor half of the previous pair: tokens and payloads are
    # published together or not at all.
    assert sorted(p.name for p in ws.outbox.glob("campaign.*")) == []


def test_segment_flags_read_as_categoricals_give_the_same_bits(
    setup: tuple[Engagement, Workspace, PartyIdentity], tmp_path: Path
) -> None:
    engagement, _, _ = setup
    mapping = engagement.input_for("campaign")
    assert isinstance(mapping, CampaignInput)
    flags = list(mapping.segments.values())
    spellings = ["1", "Y", "yes", " True ", "x", "0", "N", "", "no", "T"]
    truthy = [True, True, True, True, True, False, False, False, False, True]
    lines = VOTERS.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    column = header.index(flags[0])
    rows = []
    for line, spelling in zip(lines[1:], spellings, strict=False):
        cells = line.split(",")
        cells[column] = spelling
        rows.append(",".join(cells))
    source = tmp_path / "voters.csv"
    source.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")

    read, _ = party._read_input(source, mapping, flags=flags)
    assert read.schema[flags[0]] == pl.Categorical()
    as_text = party.read_input(source, mapping)
    assert as_text.schema[flags[0]] == pl.String()
    bits = party._segment_column(read, mapping)
    assert bits.equals(as_text.select(party.segment_bitsets(mapping)).to_series())
    assert [bool(b & 1) for b in bits.to_list()] == truthy
