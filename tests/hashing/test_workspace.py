"""Workspaces: layout, keys, and the send → receive hand-over with its refusals."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from hashing.artifacts import artifact_paths
from hashing.errors import InputError, KeyError_, PolicyError, VerificationError
from hashing.keys import PartyIdentity, ScryptParams
from hashing.workspace import Workspace, receive, send

ENG = "eng-2026-04"
PASS = b"workspace passphrase"
CHEAP = ScryptParams.for_tests()


def tokens() -> pl.DataFrame:
    return pl.DataFrame({"ref": ["a", "b"], "token": [b"\x01" * 32, b"\x02" * 32]})


@pytest.fixture
def world(tmp_path: Path) -> dict[str, tuple[Workspace, PartyIdentity]]:
    """Campaign, matcher and operator workspaces that have exchanged bundles."""
    out = {}
    for role in ("campaign", "matcher", "operator"):
        ws = Workspace.create(tmp_path / role, role)
        out[role] = (ws, ws.new_identity(PASS, scrypt=CHEAP))
    for role, (ws, _) in out.items():
        for peer_role, (peer_ws, peer_id) in out.items():
            if peer_role != role:
                ws.add_peer(peer_ws.bundle_path, expected_fingerprint=peer_id.fingerprint)
    return out


def publish(
    world: dict[str, tuple[Workspace, PartyIdentity]],
    df: pl.DataFrame | None = None,
    recipients: tuple[str, ...] = ("matcher",),
) -> None:
    ws, me = world["campaign"]
    ws.write(
        tokens() if df is None else df,
        "campaign.tokens",
        kind="tokens",
        engagement_id=ENG,
        producer=me,
        recipients=list(recipients),
    )


def take(world: dict[str, tuple[Workspace, PartyIdentity]], **overrides: object) -> object:
    ws = world["matcher"][0]
    args: dict[str, object] = {
        "engagement_id": ENG,
        "kind": "tokens",
        "producer_bundle": ws.peer("campaign"),
    }
    args.update(overrides)
    return receive(ws, "campaign.tokens", **args)  # type: ignore[arg-type]


def test_create_lays_out_a_private_tree(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "c", "campaign")
    for d in (ws.private, ws.outbox, ws.inbox, ws.incoming, ws.rejected, ws.peers):
        assert d.is_dir()
    assert stat.S_IMODE(os.stat(ws.private).st_mode) == 0o700
    assert Workspace.open(tmp_path / "c") == ws
    assert Workspace.create(tmp_path / "c", "campaign") == ws
    with pytest.raises(PolicyError, match="is the campaign workspace"):
        Workspace.create(tmp_path / "c", "operator")
    with pytest.raises(PolicyError, match="not operator's"):
        Workspace.open(tmp_path / "c", "operator")
    with pytest.raises(InputError, match="not a blindlink workspace"):
        Workspace.open(tmp_path / "nothing")


def test_identity_lives_in_private_and_bundle_in_outbox(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "m", "measurement")
    me = ws.new_identity(PASS, scrypt=CHEAP)
    assert ws.identity_path.parent == ws.private
    assert stat.S_IMODE(os.stat(ws.identity_path).st_mode) == 0o600
    assert ws.load_identity(PASS).public == me.public
    assert json.loads(ws.bundle_path.read_text())["fingerprint"] == me.fingerprint
    with pytest.raises(KeyError_, match="already exists"):
        ws.new_identity(PASS, scrypt=CHEAP)


def test_add_peer_checks_the_fingerprint(
    world: dict[str, tuple[Workspace, PartyIdentity]], tmp_path: Path
) -> None:
    ws, _ = world["matcher"]
    operator_ws, operator = world["operator"]
    with pytest.raises(KeyError_, match="is not the expected"):
        ws.add_peer(operator_ws.bundle_path, expected_fingerprint=world["campaign"][1].fingerprint)
    with pytest.raises(KeyError_, match="this party's own role"):
        ws.add_peer(ws.bundle_path)
    assert ws.peer("operator") == operator.public


def test_send_then_receive_accepts_and_records(
    world: dict[str, tuple[Workspace, PartyIdentity]],
) -> None:
    publish(world)
    matcher_ws = world["matcher"][0]
    delivered = send(world["campaign"][0], "campaign.tokens", matcher_ws)
    assert delivered.parent == matcher_ws.incoming
    m = take(world)
    assert list(matcher_ws.incoming.iterdir()) == []
    assert all(p.exists() for p in artifact_paths(matcher_ws.inbox / "campaign.tokens"))
    ledger = json.loads(matcher_ws.ledger_path.read_text())
    (entry,) = ledger["entries"].values()
    assert entry["sequence"] == m.sequence  # type: ignore[attr-defined]
    df = matcher_ws.read(
        "campaign.tokens",
        engagement_id=ENG,
        kind="tokens",
        producer_bundle=matcher_ws.peer("campaign"),
    )
    assert_frame_equal(df, tokens())


def test_send_refuses_a_role_the_artifact_is_not_for(
    world: dict[str, tuple[Workspace, PartyIdentity]],
) -> None:
    publish(world)
    with pytest.raises(PolicyError, match="refusing to send it to operator"):
        send(world["campaign"][0], "campaign.tokens", world["operator"][0])
    with pytest.raises(InputError, match="no complete artifact"):
        send(world["campaign"][0], "nothing.here", world["matcher"][0])


def test_tampered_delivery_is_refused_and_moved_aside(
    world: dict[str, tuple[Workspace, PartyIdentity]],
) -> None:
    publish(world)
    matcher_ws = world["matcher"][0]
    data = send(world["campaign"][0], "campaign.tokens", matcher_ws)
    raw = bytearray(data.read_bytes())
    raw[40] ^= 0xFF
    data.write_bytes(bytes(raw))
    with pytest.raises(VerificationError, match=r"SHA-256 does not match .*moved aside"):
        take(world)
    assert list(matcher_ws.incoming.iterdir()) == []
    names = sorted(p.name for p in matcher_ws.rejected.iterdir())
    assert len(names) == 3
    assert names[0].endswith(".manifest.json") and names[1].endswith(".parquet")
    reason = next(p for p in matcher_ws.rejected.iterdir() if p.suffix == ".txt")
    assert "SHA-256 does not match" in reason.read_text()
    assert not matcher_ws.ledger_path.exists()
    assert not (matcher_ws.inbox / "campaign.tokens.parquet").exists()


def test_wrong_producer_engagement_and_kind_are_refused_on_receipt(
    world: dict[str, tuple[Workspace, PartyIdentity]],
) -> None:
    matcher_ws = world["matcher"][0]
    for overrides, message in (
        ({"producer_bundle": matcher_ws.peer("operator")}, "signature does not verify"),
        ({"engagement_id": "eng-other"}, "belongs to engagement"),
        ({"kind": "households"}, "artifact kind is 'tokens'"),
    ):
        publish(world)
        send(world["campaign"][0], "campaign.tokens", matcher_ws)
        with pytest.raises(VerificationError, match=message):
            take(world, **overrides)
    assert len(list(matcher_ws.rejected.iterdir())) == 9


def test_an_artifact_for_another_role_is_refused_by_the_receiver(
    world: dict[str, tuple[Workspace, PartyIdentity]],
) -> None:
    publish(world)  # addressed to the matcher only
    operator_ws = world["operator"][0]
    for src in artifact_paths(world["campaign"][0].outbox / "campaign.tokens"):
        (operator_ws.incoming / src.name).write_bytes(src.read_bytes())
    with pytest.raises(VerificationError, match="addressed to matcher, not to operator"):
        receive(
            operator_ws,
            "campaign.tokens",
            engagement_id=ENG,
            kind="tokens",
            producer_bundle=operator_ws.peer("campaign"),
        )


def test_replay_of_an_older_artifact_is_refused_and_the_newer_one_kept(
    world: dict[str, tuple[Workspace, PartyIdentity]], tmp_path: Path
) -> None:
    campaign_ws, matcher_ws = world["campaign"][0], world["matcher"][0]
    publish(world)
    old_copy = tmp_path / "old"
    old_copy.mkdir()
    for src in artifact_paths(campaign_ws.outbox / "campaign.tokens"):
        (old_copy / src.name).write_bytes(src.read_bytes())
    publish(world, df=tokens().head(1))
    send(campaign_ws, "campaign.tokens", matcher_ws)
    take(world)

    for src in old_copy.iterdir():  # an eavesdropper re-delivers the older artifact
        (matcher_ws.incoming / src.name).write_bytes(src.read_bytes())
    with pytest.raises(VerificationError, match="replay refused"):
        take(world)
    kept = matcher_ws.read(
        "campaign.tokens",
        engagement_id=ENG,
        kind="tokens",
        producer_bundle=matcher_ws.peer("campaign"),
    )
    assert kept.height == 1


def test_receive_without_delivery(world: dict[str, tuple[Workspace, PartyIdentity]]) -> None:
    with pytest.raises(InputError, match=r"nothing named 'campaign\.tokens' has arrived"):
        take(world)


def test_workspace_write_refuses_another_partys_identity(
    world: dict[str, tuple[Workspace, PartyIdentity]],
) -> None:
    with pytest.raises(PolicyError, match="cannot publish as operator"):
        world["campaign"][0].write(
            tokens(),
            "x",
            kind="tokens",
            engagement_id=ENG,
            producer=world["operator"][1],
            recipients=["matcher"],
        )
