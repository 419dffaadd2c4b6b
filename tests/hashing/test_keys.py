"""Identities, bundles, passphrases and the derived secrets of ``hashing.keys``."""

from __future__ import annotations

import base64
import itertools
import json
import os
import pickle
import re
import stat
from pathlib import Path

import polars as pl
import pytest

from hashing import _crypto
from hashing.errors import BlindlinkError, InputError, KeyError_, PolicyError
from hashing.keys import (
    ROLES,
    LinkSecret,
    PartyIdentity,
    PublicBundle,
    ScryptParams,
    SealKey,
    link_secret,
    new_passphrase,
    normalize_fingerprint,
    read_passphrase,
    recipe_key,
    seal_key,
    write_passphrase_file,
)
from hashing.seal import seal_labels, unseal_labels

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "derivation.json"
CHEAP = ScryptParams.for_tests()
PASS = b"correct horse battery staple"
ENG = "eng-2026-04"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(scope="module")
def parties() -> dict[str, PartyIdentity]:
    return {role: PartyIdentity.generate(role) for role in ROLES}


# -- identities at rest ------------------------------------------------------------------


def test_save_then_load_gives_the_same_keys(tmp_path: Path) -> None:
    me = PartyIdentity.generate("campaign")
    path = me.save(tmp_path / "id.json", PASS, scrypt=CHEAP)
    back = PartyIdentity.load(path, PASS)
    assert back.role == "campaign"
    assert back.public == me.public
    msg = b"a message"
    assert me.public.verify_signature(msg, back.sign(msg))


def test_identity_file_is_mode_0600_and_holds_no_private_key(tmp_path: Path) -> None:
    old = os.umask(0)  # the file must be 0600 whatever the umask
    try:
        me = PartyIdentity.generate("operator")
        path = me.save(tmp_path / "id.json", PASS, scrypt=CHEAP)
    finally:
        os.umask(old)
    assert mode_of(path) == 0o600
    text = path.read_text()
    for secret in (me._ed25519, me._x25519):
        assert secret.hex() not in text
        assert base64.b64encode(secret).decode() not in text
    obj = json.loads(text)
    assert obj["format"] == "blindlink-identity"
    assert obj["version"] == 1
    assert obj["kdf"]["name"] == "scrypt"
    assert obj["aead"]["name"] == "AES-256-GCM"


def test_load_refuses_a_file_readable_by_others(tmp_path: Path) -> None:
    path = PartyIdentity.generate("campaign").save(tmp_path / "id.json", PASS, scrypt=CHEAP)
    os.chmod(path, 0o644)
    with pytest.raises(KeyError_, match=r"accessible by group or others \(mode 0644\)"):
        PartyIdentity.load(path, PASS)
    os.chmod(path, 0o640)
    with pytest.raises(KeyError_, match="mode 0640"):
        PartyIdentity.load(path, PASS)


def test_wrong_passphrase_has_an_exact_message(tmp_path: Path) -> None:
    path = PartyIdentity.generate("campaign").save(tmp_path / "id.json", PASS, scrypt=CHEAP)
    with pytest.raises(KeyError_) as info:
        PartyIdentity.load(path, b"not the passphrase")
    assert str(info.value) == f"{path}: wrong passphrase, or the identity file was altered"


def test_save_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "id.json"
    first = PartyIdentity.generate("campaign")
    first.save(path, PASS, scrypt=CHEAP)
    second = PartyIdentity.generate("campaign")
    with pytest.raises(KeyError_, match="already exists; refusing to overwrite"):
        second.save(path, PASS, scrypt=CHEAP)
    assert PartyIdentity.load(path, PASS).public == first.public
    second.save(path, PASS, scrypt=CHEAP, overwrite=True)
    assert PartyIdentity.load(path, PASS).public == second.public
    assert mode_of(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["id.json"]  # no temp files left


ALTERED = "wrong passphrase, or the identity file was altered"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda o: o.update(role="operator"), "malformed or unsupported"),
        (lambda o: o["aead"].update(tag="x"), ALTERED),
        (lambda o: o["kdf"].update(salt=base64.b64encode(b"\x00" * 16).decode()), ALTERED),
        (lambda o: o.update(note="added"), ALTERED),
        (
            lambda o: o["public"].update(
                x25519=base64.b64encode(PartyIdentity.generate("campaign").public.x25519).decode()
            ),
            "malformed or unsupported",
        ),
    ],
    ids=["role", "aead-field", "salt", "extra-field", "public-key"],
)
def test_load_refuses_an_altered_container(tmp_path: Path, edit: object, message: str) -> None:
    path = PartyIdentity.generate("campaign").save(tmp_path / "id.json", PASS, scrypt=CHEAP)
    obj = json.loads(path.read_text())
    edit(obj)  # type: ignore[operator]
    path.write_text(json.dumps(obj))
    with pytest.raises(KeyError_, match=message):
        PartyIdentity.load(path, PASS)


def test_load_refuses_unbounded_scrypt_parameters(tmp_path: Path) -> None:
    path = PartyIdentity.generate("campaign").save(tmp_path / "id.json", PASS, scrypt=CHEAP)
    obj = json.loads(path.read_text())
    obj["kdf"]["n"] = 2**40
    path.write_text(json.dumps(obj))
    with pytest.raises(KeyError_, match="malformed or unsupported"):
        PartyIdentity.load(path, PASS)


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"format": "other"}', b"[]"])
def test_load_refuses_what_is_not_an_identity_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "id.json"
    path.write_bytes(content)
    os.chmod(path, 0o600)
    with pytest.raises(KeyError_, match="not a blindlink identity file"):
        PartyIdentity.load(path, PASS)


def test_missing_identity_file(tmp_path: Path) -> None:
    with pytest.raises(KeyError_, match="identity file not found"):
        PartyIdentity.load(tmp_path / "nope.json", PASS)


def test_empty_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyError_, match="empty passphrase"):
        PartyIdentity.generate("campaign").save(tmp_path / "id.json", b"", scrypt=CHEAP)


def test_default_scrypt_cost_is_strong_and_bounds_are_checked() -> None:
    default = ScryptParams()
    assert default.n >= 2**15 and default.r >= 8
    assert 128 * default.n * default.r >= 32 * 2**20  # at least 32 MiB per guess
    for bad in ({"n": 1000}, {"n": 2**9}, {"n": 2**23}, {"r": 0}, {"p": 17}):
        with pytest.raises(KeyError_, match="invalid scrypt parameters"):
            ScryptParams(**bad)


def test_unknown_role_is_refused() -> None:
    with pytest.raises(KeyError_, match="unknown role 'vendor'"):
        PartyIdentity.generate("vendor")


def test_identity_cannot_be_pickled() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(PartyIdentity.generate("campaign"))


# -- passphrases -------------------------------------------------------------------------


def test_read_passphrase_from_file_strips_one_newline(tmp_path: Path) -> None:
    path = tmp_path / "pass"
    write_passphrase_file(path, b"s3cret pass")
    assert mode_of(path) == 0o600
    assert read_passphrase(file=path) == b"s3cret pass"
    path.chmod(0o600)
    path.write_bytes(b"two\r\n")
    assert read_passphrase(file=path) == b"two"


def test_read_passphrase_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "pass"
    write_passphrase_file(path, b"x")
    path.chmod(0o644)
    with pytest.raises(KeyError_, match="passphrase file is accessible by group or others"):
        read_passphrase(file=path)


def test_read_passphrase_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLINDLINK_PASSPHRASE", "from-env")
    assert read_passphrase() == b"from-env"
    monkeypatch.setenv("OTHER_VAR", "other")
    assert read_passphrase(env_var="OTHER_VAR") == b"other"


def test_file_wins_over_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLINDLINK_PASSPHRASE", "from-env")
    write_passphrase_file(tmp_path / "p", b"from-file")
    assert read_passphrase(file=tmp_path / "p") == b"from-file"


def test_read_passphrase_prompts_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BLINDLINK_PASSPHRASE", raising=False)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "typed")
    assert read_passphrase(prompt=True) == b"typed"
    with pytest.raises(KeyError_, match="set the environment variable BLINDLINK_PASSPHRASE"):
        read_passphrase()


def test_new_passphrase_is_random_and_long() -> None:
    a, b = new_passphrase(), new_passphrase()
    assert a != b and len(a) >= 32


# -- public bundles ----------------------------------------------------------------------

FINGERPRINT = re.compile(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){4}")


def test_bundle_export_load_roundtrip(tmp_path: Path) -> None:
    me = PartyIdentity.generate("measurement")
    path = me.public.export(tmp_path / "m.bundle.json")
    back = PublicBundle.load(path)
    assert back == me.public
    assert FINGERPRINT.fullmatch(back.fingerprint)
    typed = back.fingerprint.lower().replace("-", " ")
    assert PublicBundle.load(path, expected_fingerprint=typed) == back


def test_bundle_with_unexpected_fingerprint_is_refused(tmp_path: Path) -> None:
    path = PartyIdentity.generate("operator").public.export(tmp_path / "o.json")
    other = PartyIdentity.generate("operator").fingerprint
    with pytest.raises(KeyError_, match="is not the expected"):
        PublicBundle.load(path, expected_fingerprint=other)
    with pytest.raises(KeyError_, match="not a fingerprint"):
        PublicBundle.load(path, expected_fingerprint="ABCD")


def test_bundle_with_swapped_key_is_refused(tmp_path: Path) -> None:
    path = PartyIdentity.generate("operator").public.export(tmp_path / "o.json")
    obj = json.loads(path.read_text())
    obj["x25519"] = base64.b64encode(PartyIdentity.generate("operator").public.x25519).decode()
    path.write_text(json.dumps(obj))
    with pytest.raises(KeyError_, match="fingerprint does not match its keys"):
        PublicBundle.load(path)


def test_fingerprint_binds_the_role() -> None:
    me = PartyIdentity.generate("campaign").public
    relabelled = PublicBundle("operator", me.ed25519, me.x25519)
    assert relabelled.fingerprint != me.fingerprint


def test_normalize_fingerprint() -> None:
    assert normalize_fingerprint("abcd efgh ijkl mnop qrst") == "ABCD-EFGH-IJKL-MNOP-QRST"


# -- known-answer vectors ----------------------------------------------------------------


def _kat_identity(vectors: dict, role: str) -> PartyIdentity:
    entry = vectors["identities"][role]
    return PartyIdentity(
        role, bytes.fromhex(entry["ed25519_private"]), bytes.fromhex(entry["x25519_private"])
    )


def test_derivations_match_known_answer_vectors() -> None:
    v = json.loads(VECTORS.read_text())
    ids = {role: _kat_identity(v, role) for role in v["identities"]}
    for role, entry in v["identities"].items():
        assert ids[role].public.ed25519.hex() == entry["ed25519_public"]
        assert ids[role].public.x25519.hex() == entry["x25519_public"]
        assert ids[role].fingerprint == entry["fingerprint"]
    eng = v["engagement_id"]

    secret = link_secret(ids["campaign"], ids["operator"].public, eng)
    assert secret._material().hex() == v["link_secret"]["key"]
    assert secret.check_value == v["link_secret"]["check_value"]
    assert link_secret(ids["operator"], ids["campaign"].public, eng) == secret
    other = v["link_secret_other_engagement"]
    assert (
        link_secret(ids["campaign"], ids["operator"].public, other["engagement_id"])
        ._material()
        .hex()
        == other["key"]
    )
    for case in v["recipe_keys"]:
        assert recipe_key(secret, case["recipe_spec"]).hex() == case["key"]
    for case in v["seal_keys"]:
        a, b = case["parties"]
        for me, peer in ((a, b), (b, a)):
            key = seal_key(ids[me], ids[peer].public, eng, case["purpose"])
            assert key._material().hex() == case["key"]
            assert key.check_value == case["check_value"]
            assert key.purpose == case["purpose"]
    hk = v["hmac_sha256_hexkey"]
    for case in hk["cases"]:
        got = _crypto.hmac_sha256_hexkey(bytes.fromhex(hk["key"]), case["message"].encode())
        assert got.hex() == case["hmac"]


def test_vectorized_hmac_matches_its_scalar_twin() -> None:
    v = json.loads(VECTORS.read_text())["hmac_sha256_hexkey"]
    key = bytes.fromhex(v["key"])
    messages = [c["message"] for c in v["cases"]]
    out = pl.DataFrame({"m": [*messages, None]}).select(
        _crypto.hmac_sha256_expr(pl.col("m"), key).alias("t")
    )
    assert out["t"].to_list() == [bytes.fromhex(c["hmac"]) for c in v["cases"]] + [None]


def test_vectorized_hmac_key_stays_out_of_plans_and_reprs() -> None:
    key = os.urandom(32)
    expr = _crypto.hmac_sha256_expr(pl.col("m"), key)
    plan = pl.LazyFrame({"m": ["x"]}).select(expr).explain()
    assert_no_key_material([str(expr), repr(expr), plan], [key, key.hex().encode()])


# -- who may derive what -----------------------------------------------------------------


def test_link_secret_is_shared_by_campaign_and_operator(
    parties: dict[str, PartyIdentity],
) -> None:
    c, o = parties["campaign"], parties["operator"]
    assert link_secret(c, o.public, ENG) == link_secret(o, c.public, ENG)
    assert link_secret(c, o.public, ENG) != link_secret(c, o.public, ENG + "-b")


@pytest.mark.parametrize(
    ("a", "b"),
    [p for p in itertools.permutations(ROLES, 2) if set(p) != {"campaign", "operator"}],
)
def test_no_other_pair_may_derive_the_link_secret(
    parties: dict[str, PartyIdentity], a: str, b: str
) -> None:
    with pytest.raises(PolicyError, match="only campaign and operator may derive"):
        link_secret(parties[a], parties[b].public, ENG)


def test_matcher_and_measurement_keys_cannot_reach_the_link_secret(
    parties: dict[str, PartyIdentity],
) -> None:
    c, o = parties["campaign"], parties["operator"]
    truth = link_secret(c, o.public, ENG)
    for outsider in ("matcher", "measurement"):
        spy = parties[outsider]
        # Relabelling its own keys as the operator's does not help: the campaign agrees a
        # secret with the spy, which is a different secret from the real one.
        fake_operator = PublicBundle("operator", spy.public.ed25519, spy.public.x25519)
        assert link_secret(c, fake_operator, ENG) != truth
        # And nothing derivable from the spy's own keys with the public bundles matches.
        spy_as_campaign = PartyIdentity("campaign", spy._ed25519, spy._x25519)
        assert link_secret(spy_as_campaign, o.public, ENG) != truth


def test_an_impostor_of_the_right_role_derives_a_different_secret(
    parties: dict[str, PartyIdentity],
) -> None:
    c, o = parties["campaign"], parties["operator"]
    impostor = PartyIdentity.generate("operator")
    assert link_secret(c, impostor.public, ENG) != link_secret(c, o.public, ENG)


def test_engagement_id_must_be_given(parties: dict[str, PartyIdentity]) -> None:
    for bad in ("", "   ", " padded"):
        with pytest.raises(InputError, match="engagement id"):
            link_secret(parties["campaign"], parties["operator"].public, bad)


def test_recipe_keys_differ_by_recipe_and_are_deterministic() -> None:
    secret = LinkSecret.generate()
    a, b = recipe_key(secret, "v1|email"), recipe_key(secret, "v1|phone")
    assert a != b and len(a) == 32
    assert recipe_key(secret, "v1|email") == a
    assert recipe_key(LinkSecret.generate(), "v1|email") != a
    with pytest.raises(InputError):
        recipe_key(secret, "")


def test_seal_keys_by_pair_and_purpose(parties: dict[str, PartyIdentity]) -> None:
    c, o, m = parties["campaign"], parties["operator"], parties["measurement"]
    seg = seal_key(c, m.public, ENG, "segments")
    assert seg == seal_key(m, c.public, ENG, "segments")
    box = seal_key(o, m.public, ENG, "boxes")
    assert box == seal_key(m, o.public, ENG, "boxes")
    assert seg._material() != box._material()
    assert seg._material() != link_secret(c, o.public, ENG)._material()


@pytest.mark.parametrize(
    ("a", "b", "purpose"),
    [
        ("campaign", "operator", "segments"),
        ("operator", "measurement", "segments"),
        ("campaign", "measurement", "boxes"),
        ("matcher", "measurement", "segments"),
        ("matcher", "measurement", "boxes"),
        ("campaign", "matcher", "segments"),
        ("auditor", "measurement", "boxes"),
    ],
)
def test_seal_key_refuses_other_pairs(
    parties: dict[str, PartyIdentity], a: str, b: str, purpose: str
) -> None:
    with pytest.raises(PolicyError, match="may derive the"):
        seal_key(parties[a], parties[b].public, ENG, purpose)


def test_seal_key_refuses_unknown_purpose(parties: dict[str, PartyIdentity]) -> None:
    with pytest.raises(PolicyError, match="unknown seal purpose"):
        seal_key(parties["campaign"], parties["measurement"].public, ENG, "names")


# -- raw secret files --------------------------------------------------------------------


def test_link_secret_file_roundtrip(tmp_path: Path) -> None:
    secret = LinkSecret.generate()
    path = secret.write_file(tmp_path / "k_link")
    assert mode_of(path) == 0o600
    assert LinkSecret.from_file(path) == secret
    with pytest.raises(KeyError_, match="already exists"):
        secret.write_file(path)
    path.chmod(0o644)
    with pytest.raises(KeyError_, match="accessible by group or others"):
        LinkSecret.from_file(path)


def test_link_secret_file_must_hold_32_bytes(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_bytes(b"short")
    path.chmod(0o600)
    with pytest.raises(KeyError_, match="exactly 32 bytes"):
        LinkSecret.from_file(path)


def test_secret_objects_compare_by_value() -> None:
    raw = os.urandom(32)
    assert LinkSecret(raw) == LinkSecret(raw)
    assert LinkSecret(raw) != LinkSecret(os.urandom(32))
    assert SealKey(raw, "segments") != SealKey(raw, "boxes")
    with pytest.raises(KeyError_):
        LinkSecret(b"too short")


# -- no key material anywhere ------------------------------------------------------------


def encodings_of(secret: bytes) -> list[str]:
    """Textual forms in which key bytes could leak."""
    return [
        secret.hex(),
        secret.hex().upper(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode(),
        base64.b32encode(secret).decode(),
        secret.decode("latin-1"),
        repr(secret)[2:-1],
    ]


def assert_no_key_material(texts: list[str], secrets: list[bytes]) -> None:
    blob = "\n".join(texts)
    raw = blob.encode("utf-8", "surrogateescape")
    for secret in secrets:
        assert secret not in raw
        for form in encodings_of(secret):
            assert form not in blob
        for half in (secret[:16], secret[16:]):  # also no partial leaks
            assert half.hex() not in blob


def test_no_key_material_in_reprs_messages_or_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    c = PartyIdentity.generate("campaign")
    o = PartyIdentity.generate("operator")
    m = PartyIdentity.generate("measurement")
    secret = link_secret(c, o.public, ENG)
    seg = seal_key(c, m.public, ENG, "segments")
    rk = recipe_key(secret, "v1|email")
    secrets = [c._ed25519, c._x25519, o._x25519, secret._material(), seg._material(), rk]
    secrets.append(_crypto.x25519_shared(c._x25519, o.public.x25519))

    texts = [repr(x) for x in (c, o, secret, seg, c.public)]
    texts += [str(x) for x in (c, o, secret, seg, c.public)]
    texts += [f"{c!r} {secret} {seg}"]

    path = c.save(tmp_path / "c.json", PASS, scrypt=CHEAP)
    secret.write_file(tmp_path / "k")
    failures = [
        lambda: PartyIdentity.load(path, b"wrong"),
        lambda: link_secret(m, c.public, ENG),
        lambda: seal_key(o, c.public, ENG, "segments"),
        lambda: LinkSecret(secret._material()[:31]),
        lambda: secret.write_file(tmp_path / "k"),
        lambda: c.save(path, PASS, scrypt=CHEAP),
        lambda: recipe_key(secret, ""),
        lambda: unseal_labels(
            seal_labels(pl.Series([1, 2], dtype=pl.UInt64), seg, ENG, 8),
            SealKey.generate("segments"),
            ENG,
            8,
        ),
        lambda: unseal_labels(
            seal_labels(pl.Series([1], dtype=pl.UInt64), seg, ENG, 8), seg, "other", 8
        ),
    ]
    for fail in failures:
        with pytest.raises(BlindlinkError) as info:
            fail()
        texts.append(str(info.value))
        texts.append(repr(info.value))
        cause = info.value.__cause__
        while cause is not None:
            texts.append(str(cause))
            cause = cause.__cause__
    out = capsys.readouterr()
    texts += [out.out, out.err, caplog.text]
    assert_no_key_material(texts, secrets)
