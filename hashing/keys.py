"""Party identities, public bundles and the secrets derived from them.

Each party holds one long-term :class:`PartyIdentity`: an Ed25519 key that signs the
artifacts it produces and an X25519 key that agrees secrets with its peers. The private
half lives in a file encrypted at rest under a passphrase (scrypt, then AES-256-GCM);
the public half travels as a :class:`PublicBundle` whose short fingerprint two people
can compare over the phone.

From two identities and an engagement id, HKDF derives exactly the secrets the protocol
needs (see ``docs/protocol.md``):

* :func:`link_secret` — campaign and operator only — and from it one HMAC key per token
  recipe (:func:`recipe_key`);
* :func:`seal_key` — campaign↔measurement for segment labels, operator↔measurement for
  box lists.

Nothing in this module ever puts key bytes in a message, a ``repr`` or a ``str``.

Example::

    me = PartyIdentity.generate("campaign")
    me.save(Path("private/identity.json"), read_passphrase())
    secret = link_secret(me, PublicBundle.load(Path("operator.bundle.json")), "eng-2026-04")
    key = recipe_key(secret, "v1|email")
"""

from __future__ import annotations

import base64
import binascii
import getpass
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final

from hashing import _crypto
from hashing.errors import InputError, KeyError_, PolicyError

ROLES: Final = ("campaign", "operator", "matcher", "measurement", "auditor")
"""Every party role blindlink knows."""

LINK_ROLES: Final = frozenset({"campaign", "operator"})
"""The only pair of roles that may derive the link secret."""

SEAL_PURPOSES: Final[dict[str, frozenset[str]]] = {
    "segments": frozenset({"campaign", "measurement"}),
    "boxes": frozenset({"operator", "measurement"}),
}
"""Seal purpose → the pair of roles that share its key."""

LINK_SECRET_INFO: Final = b"blindlink/v1/link-secret"
RECIPE_SALT: Final = b"blindlink/v1/recipe"
SEAL_INFO_PREFIX: Final = b"blindlink/v1/seal|"
FINGERPRINT_DOMAIN: Final = b"blindlink/v1/fingerprint"
CHECK_VALUE_INFO: Final = b"blindlink/v1/check-value"

IDENTITY_FORMAT: Final = "blindlink-identity"
BUNDLE_FORMAT: Final = "blindlink-public-bundle"
FORMAT_VERSION: Final = 1

DEFAULT_PASSPHRASE_ENV: Final = "BLINDLINK_PASSPHRASE"

_SALT_LEN: Final = 16
_FINGERPRINT_CHARS: Final = 20
_B32_ALPHABET: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
_MAX_KEYFILE_BYTES: Final = 64 * 1024


def _check_role(role: str, what: str = "role") -> str:
    if role not in ROLES:
        raise KeyError_(f"unknown {what} {role!r}; expected one of {', '.join(ROLES)}")
    return role


def _check_engagement_id(engagement_id: str) -> bytes:
    if not isinstance(engagement_id, str) or not engagement_id.strip():
        raise InputError("engagement id is empty; every derivation needs the engagement id")
    if engagement_id != engagement_id.strip():
        raise InputError("engagement id has leading or trailing whitespace")
    return engagement_id.encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, length: int | None = None) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a base64 string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise ValueError("not a base64 string") from e
    if length is not None and len(raw) != length:
        raise ValueError("wrong length")
    return raw


# -- files -------------------------------------------------------------------------------


def fsync_dir(directory: Path) -> None:
    """Flush a directory entry to disk after a rename (best effort: not every system can)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_private_file(path: Path, data: bytes, *, overwrite: bool = False) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only (mode 0600).

    The bytes go to a fresh temporary file in the same directory (``O_CREAT|O_EXCL``,
    mode 0600), are fsynced, then linked into place — refusing an existing ``path``
    unless ``overwrite`` — so a reader never sees a half-written secret.
    """
    path = Path(path)
    if not overwrite and path.exists():
        raise KeyError_(f"{path}: already exists; refusing to overwrite it")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError as e:
                raise KeyError_(f"{path}: already exists; refusing to overwrite it") from e
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def read_private_file(path: Path, what: str, max_bytes: int = _MAX_KEYFILE_BYTES) -> bytes:
    """Read a secret file, refusing one that group or others may access.

    ``what`` names the file's kind in messages ("identity file", "passphrase file"...).
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError as e:
        raise KeyError_(f"{path}: {what} not found") from e
    except OSError as e:
        raise KeyError_(f"{path}: cannot read {what} ({e.strerror})") from e
    if not stat.S_ISREG(st.st_mode):
        raise KeyError_(f"{path}: {what} is not a regular file")
    mode = stat.S_IMODE(st.st_mode)
    if os.name == "posix" and mode & 0o077:
        raise KeyError_(
            f"{path}: {what} is accessible by group or others (mode {mode:04o}); "
            f"run: chmod 600 {path}"
        )
    if st.st_size > max_bytes:
        raise KeyError_(f"{path}: {what} is too large to be a {what}")
    try:
        return path.read_bytes()
    except OSError as e:
        raise KeyError_(f"{path}: cannot read {what} ({e.strerror})") from e


# -- passphrases -------------------------------------------------------------------------


def read_passphrase(
    env_var: str = DEFAULT_PASSPHRASE_ENV, file: Path | None = None, prompt: bool = False
) -> bytes:
    """The passphrase that unlocks an identity file — never from a command-line argument.

    Sources, first match wins: ``file`` when given (mode 0600, one trailing newline
    ignored); the environment variable ``env_var``; an interactive prompt when
    ``prompt``. An empty passphrase is refused.
    """
    if file is not None:
        raw = read_private_file(Path(file), "passphrase file")
        if raw.endswith(b"\r\n"):
            raw = raw[:-2]
        elif raw.endswith(b"\n"):
            raw = raw[:-1]
        if not raw:
            raise KeyError_(f"{file}: passphrase file is empty")
        return raw
    value = os.environ.get(env_var)
    if value:
        return os.fsencode(value)
    if prompt:
        typed = getpass.getpass("blindlink passphrase: ")
        if not typed:
            raise KeyError_("empty passphrase entered")
        return typed.encode("utf-8")
    raise KeyError_(
        f"no passphrase: set the environment variable {env_var} or give a passphrase file"
    )


def new_passphrase() -> bytes:
    """A random passphrase (about 190 bits) for demos and unattended parties."""
    return secrets.token_urlsafe(24).encode("ascii")


def write_passphrase_file(path: Path, passphrase: bytes, *, overwrite: bool = False) -> None:
    """Store a passphrase in a mode-0600 file that :func:`read_passphrase` can read."""
    if not passphrase:
        raise KeyError_(f"{path}: refusing to write an empty passphrase")
    write_private_file(Path(path), passphrase + b"\n", overwrite=overwrite)


# -- scrypt parameters -------------------------------------------------------------------


@dataclass(frozen=True)
class ScryptParams:
    """scrypt cost parameters for identity files.

    The default (n=2**17, r=8, p=1: 128 MiB, about 0.4 s) follows current guidance for
    interactive logins; :meth:`for_tests` is deliberately cheap and must not be used for
    real keys. Loading accepts any parameters inside the sane bounds checked here, so an
    altered file cannot make a load allocate unbounded memory.
    """

    n: int = 2**17
    r: int = 8
    p: int = 1

    MIN_N: ClassVar[int] = 2**10
    MAX_N: ClassVar[int] = 2**22
    MAX_MEMORY: ClassVar[int] = 2**31

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.n, int) or self.n < self.MIN_N or self.n > self.MAX_N:
            problems.append("n must be a power of two in [2**10, 2**22]")
        elif self.n & (self.n - 1):
            problems.append("n must be a power of two")
        if not isinstance(self.r, int) or not 1 <= self.r <= 32:
            problems.append("r must be in [1, 32]")
        if not isinstance(self.p, int) or not 1 <= self.p <= 16:
            problems.append("p must be in [1, 16]")
        if not problems and 128 * self.n * self.r > self.MAX_MEMORY:
            problems.append("n * r needs more than 2 GiB of memory")
        if problems:
            raise KeyError_("invalid scrypt parameters: " + "; ".join(problems))

    @classmethod
    def for_tests(cls) -> ScryptParams:
        """Cheap parameters (n=2**10, r=1) for test suites only."""
        return cls(n=2**10, r=1, p=1)


# -- public bundles ----------------------------------------------------------------------


def compute_fingerprint(role: str, ed25519_public: bytes, x25519_public: bytes) -> str:
    """The short, human-comparable fingerprint of a party's role and public keys.

    SHA-256 over a domain tag, the role and both keys; the first 100 bits in base32
    (no 0/O or 1/I to confuse), as five groups of four: ``ABCD-EFGH-IJKL-MNOP-QRST``.
    """
    digest = _crypto.sha256(
        FINGERPRINT_DOMAIN
        + b"\x00"
        + role.encode("utf-8")
        + b"\x00"
        + ed25519_public
        + x25519_public
    )
    chars = base64.b32encode(digest[:15]).decode("ascii")[:_FINGERPRINT_CHARS]
    return "-".join(chars[i : i + 4] for i in range(0, _FINGERPRINT_CHARS, 4))


def normalize_fingerprint(text: str) -> str:
    """A fingerprint as typed by a person (any case, spaces or dashes) in canonical form."""
    chars = "".join(c for c in text.upper() if c not in " -\t")
    if len(chars) != _FINGERPRINT_CHARS or not set(chars) <= _B32_ALPHABET:
        raise KeyError_("not a fingerprint: expected 20 characters A-Z and 2-7")
    return "-".join(chars[i : i + 4] for i in range(0, _FINGERPRINT_CHARS, 4))


@dataclass(frozen=True)
class PublicBundle:
    """A party's public half: role, Ed25519 and X25519 public keys, and their fingerprint.

    Bundles are exchanged out of band; each side compares :attr:`fingerprint` with the
    peer (read aloud) before trusting a bundle.
    """

    role: str
    ed25519: bytes
    x25519: bytes

    def __post_init__(self) -> None:
        _check_role(self.role)
        if len(self.ed25519) != _crypto.KEY_LEN or len(self.x25519) != _crypto.KEY_LEN:
            raise KeyError_("public bundle keys must be 32 bytes each")

    @property
    def fingerprint(self) -> str:
        """See :func:`compute_fingerprint`."""
        return compute_fingerprint(self.role, self.ed25519, self.x25519)

    def verify_signature(self, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` is this party's Ed25519 signature of ``message``."""
        return _crypto.ed25519_verify(self.ed25519, signature, message)

    def to_json(self) -> dict[str, Any]:
        """The bundle as the JSON object :meth:`export` writes."""
        return {
            "format": BUNDLE_FORMAT,
            "version": FORMAT_VERSION,
            "role": self.role,
            "ed25519": _b64(self.ed25519),
            "x25519": _b64(self.x25519),
            "fingerprint": self.fingerprint,
        }

    def export(self, path: Path, *, overwrite: bool = True) -> Path:
        """Write the bundle as JSON (public: ordinary file mode) atomically; returns ``path``."""
        path = Path(path)
        if not overwrite and path.exists():
            raise KeyError_(f"{path}: already exists; refusing to overwrite it")
        data = (json.dumps(self.to_json(), indent=2) + "\n").encode("utf-8")
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            with open(tmp, "xb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(path.parent)
        return path

    @classmethod
    def from_json(cls, obj: object, source: str) -> PublicBundle:
        """Parse and check a bundle object; ``source`` names it in messages."""
        if not isinstance(obj, dict) or obj.get("format") != BUNDLE_FORMAT:
            raise KeyError_(f"{source}: not a blindlink public bundle")
        if obj.get("version") != FORMAT_VERSION:
            raise KeyError_(f"{source}: public bundle version is not supported (expected 1)")
        role = obj.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise KeyError_(f"{source}: public bundle has an unknown role")
        try:
            bundle = cls(role, _unb64(obj.get("ed25519"), 32), _unb64(obj.get("x25519"), 32))
        except ValueError as e:
            raise KeyError_(f"{source}: public bundle keys are malformed") from e
        stated = obj.get("fingerprint")
        if stated is not None and stated != bundle.fingerprint:
            raise KeyError_(
                f"{source}: public bundle fingerprint does not match its keys (altered file?)"
            )
        return bundle

    @classmethod
    def load(cls, path: Path, expected_fingerprint: str | None = None) -> PublicBundle:
        """Read a bundle; when ``expected_fingerprint`` is given, refuse any other."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError as e:
            raise KeyError_(f"{path}: public bundle not found") from e
        except OSError as e:
            raise KeyError_(f"{path}: cannot read public bundle ({e.strerror})") from e
        try:
            obj = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise KeyError_(f"{path}: not a blindlink public bundle (invalid JSON)") from e
        bundle = cls.from_json(obj, str(path))
        if (
            expected_fingerprint is not None
            and normalize_fingerprint(expected_fingerprint) != bundle.fingerprint
        ):
            raise KeyError_(
                f"{path}: fingerprint {bundle.fingerprint} is not the expected "
                f"{normalize_fingerprint(expected_fingerprint)}"
            )
        return bundle

    def __repr__(self) -> str:
        return f"PublicBundle(role={self.role!r}, fingerprint={self.fingerprint!r})"

    __str__ = __repr__


# -- private identities ------------------------------------------------------------------


def _wrong_passphrase(path: Path) -> str:
    return f"{path}: wrong passphrase, or the identity file was altered"


class PartyIdentity:
    """A party's long-term private keys: Ed25519 (signing) and X25519 (agreement).

    Build one with :meth:`generate` or :meth:`load`; keep it on the party's machine.
    ``repr`` shows role and fingerprint only; the object refuses to be pickled so a
    private key cannot slip into a cache or a worker payload by accident.
    """

    __slots__ = ("_ed25519", "_public", "_x25519")

    def __init__(self, role: str, ed25519_private: bytes, x25519_private: bytes) -> None:
        _check_role(role)
        if len(ed25519_private) != _crypto.KEY_LEN or len(x25519_private) != _crypto.KEY_LEN:
            raise KeyError_("private keys must be 32 bytes each")
        try:
            ed_pub = _crypto.ed25519_public(ed25519_private)
            x_pub = _crypto.x25519_public(x25519_private)
        except _crypto.BadKey as e:
            raise KeyError_("private key bytes do not form a valid key") from e
        self._ed25519 = bytes(ed25519_private)
        self._x25519 = bytes(x25519_private)
        self._public = PublicBundle(role, ed_pub, x_pub)

    @classmethod
    def generate(cls, role: str) -> PartyIdentity:
        """Fresh random keys for ``role`` (one of :data:`ROLES`)."""
        _check_role(role)
        return cls(role, _crypto.ed25519_generate(), _crypto.x25519_generate())

    @property
    def role(self) -> str:
        return self._public.role

    @property
    def public(self) -> PublicBundle:
        """The public bundle to hand to peers."""
        return self._public

    @property
    def fingerprint(self) -> str:
        return self._public.fingerprint

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of ``message`` (callers add their own domain tag)."""
        return _crypto.ed25519_sign(self._ed25519, message)

    def _agree(self, peer: PublicBundle) -> bytes:
        try:
            return _crypto.x25519_shared(self._x25519, peer.x25519)
        except _crypto.BadKey as e:
            raise KeyError_(
                f"key agreement with the {peer.role} bundle {peer.fingerprint} failed "
                "(invalid public key)"
            ) from e

    # -- at rest --

    def save(
        self,
        path: Path,
        passphrase: bytes,
        *,
        scrypt: ScryptParams | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Write the identity encrypted under ``passphrase`` (mode 0600, atomic).

        Container: versioned JSON holding role, public keys, scrypt parameters and salt,
        and ``nonce || AES-256-GCM(seed_ed25519 || private_x25519) || tag`` with every
        other field as associated data, so no field can be altered unnoticed.
        """
        if not passphrase:
            raise KeyError_(f"{path}: refusing to protect an identity with an empty passphrase")
        params = scrypt or ScryptParams()
        salt = _crypto.random_bytes(_SALT_LEN)
        header = self._header(params, salt)
        kek = _crypto.scrypt_derive(passphrase, salt, n=params.n, r=params.r, p=params.p)
        sealed = _crypto.aead_encrypt(
            kek, self._ed25519 + self._x25519, _crypto.canonical_json(header)
        )
        container = dict(header, sealed=_b64(sealed))
        data = (json.dumps(container, indent=2) + "\n").encode("utf-8")
        write_private_file(Path(path), data, overwrite=overwrite)
        return Path(path)

    def _header(self, params: ScryptParams, salt: bytes) -> dict[str, Any]:
        return {
            "format": IDENTITY_FORMAT,
            "version": FORMAT_VERSION,
            "role": self.role,
            "public": {
                "ed25519": _b64(self._public.ed25519),
                "x25519": _b64(self._public.x25519),
                "fingerprint": self.fingerprint,
            },
            "kdf": {
                "name": "scrypt",
                "n": params.n,
                "r": params.r,
                "p": params.p,
                "salt": _b64(salt),
            },
            "aead": {"name": _crypto.AEAD_NAME},
        }

    @classmethod
    def load(cls, path: Path, passphrase: bytes) -> PartyIdentity:
        """Read an identity file written by :meth:`save`.

        Refuses a file that group or others can access, a malformed or unsupported
        container, and a wrong passphrase (``"<path>: wrong passphrase, or the identity
        file was altered"``).
        """
        path = Path(path)
        raw = read_private_file(path, "identity file")
        try:
            obj = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise KeyError_(f"{path}: not a blindlink identity file (invalid JSON)") from e
        if not isinstance(obj, dict) or obj.get("format") != IDENTITY_FORMAT:
            raise KeyError_(f"{path}: not a blindlink identity file")
        if obj.get("version") != FORMAT_VERSION:
            raise KeyError_(f"{path}: identity file version is not supported (expected 1)")
        header = {k: v for k, v in obj.items() if k != "sealed"}
        try:
            role = obj["role"]
            kdf = obj["kdf"]
            if kdf["name"] != "scrypt" or obj["aead"]["name"] != _crypto.AEAD_NAME:
                raise ValueError("unsupported algorithm")
            params = ScryptParams(n=kdf["n"], r=kdf["r"], p=kdf["p"])
            salt = _unb64(kdf["salt"], _SALT_LEN)
            sealed = _unb64(obj["sealed"], _crypto.NONCE_LEN + 64 + _crypto.TAG_LEN)
            public = PublicBundle.from_json(
                dict(obj["public"], format=BUNDLE_FORMAT, version=FORMAT_VERSION, role=role),
                str(path),
            )
        except (KeyError, TypeError, ValueError, KeyError_) as e:
            raise KeyError_(f"{path}: identity file is malformed or unsupported") from e
        kek = _crypto.scrypt_derive(passphrase, salt, n=params.n, r=params.r, p=params.p)
        try:
            plain = _crypto.aead_decrypt(kek, sealed, _crypto.canonical_json(header))
        except _crypto.AuthenticationFailed:
            raise KeyError_(_wrong_passphrase(path)) from None
        identity = cls(role, plain[:32], plain[32:])
        if identity.public != public:
            raise KeyError_(f"{path}: identity file is inconsistent (public keys do not match)")
        return identity

    def __repr__(self) -> str:
        return f"PartyIdentity(role={self.role!r}, fingerprint={self.fingerprint!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a PartyIdentity holds private keys and cannot be pickled")


# -- symmetric secrets -------------------------------------------------------------------


class _Secret:
    """32 secret bytes that never show in ``repr``/``str``; compared in constant time."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray) or len(key) != _crypto.KEY_LEN:
            raise KeyError_(f"a {type(self).__name__} must be exactly 32 bytes")
        self._key = bytes(key)

    def _material(self) -> bytes:
        """The raw key bytes, for the hashing package's own crypto calls only."""
        return self._key

    @property
    def check_value(self) -> str:
        """8 hex digits derived one-way from the key, so two parties can confirm they
        derived the same secret without revealing it."""
        return _crypto.hmac_sha256(self._key, CHECK_VALUE_INFO)[:4].hex()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Secret)
        return _crypto.constant_time_equal(self._key, other._key)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(check={self.check_value})"

    __str__ = __repr__


class LinkSecret(_Secret):
    """The campaign–operator link secret ``K_link`` of one engagement.

    Derive it with :func:`link_secret`; :meth:`from_file`/:meth:`write_file` keep a raw
    32-byte copy (mode 0600) for tests and for parties that agree it out of band.
    """

    __slots__ = ()

    @classmethod
    def generate(cls) -> LinkSecret:
        """A random link secret (for tests and for secrets agreed out of band)."""
        return cls(_crypto.random_bytes(_crypto.KEY_LEN))

    @classmethod
    def from_file(cls, path: Path) -> LinkSecret:
        """Read a raw 32-byte secret file, refusing one that group or others may access."""
        raw = read_private_file(Path(path), "link secret file")
        if len(raw) != _crypto.KEY_LEN:
            raise KeyError_(f"{path}: link secret file must hold exactly 32 bytes")
        return cls(raw)

    def write_file(self, path: Path, *, overwrite: bool = False) -> Path:
        """Write the raw 32 bytes to ``path`` (mode 0600, atomic, no overwrite by default)."""
        write_private_file(Path(path), self._key, overwrite=overwrite)
        return Path(path)


class SealKey(_Secret):
    """An AEAD key for sealed payloads of one ``purpose`` ("segments" or "boxes")."""

    __slots__ = ("_purpose",)

    def __init__(self, key: bytes, purpose: str) -> None:
        super().__init__(key)
        if purpose not in SEAL_PURPOSES:
            raise PolicyError(
                f"unknown seal purpose {purpose!r}; expected one of {', '.join(SEAL_PURPOSES)}"
            )
        self._purpose = purpose

    @property
    def purpose(self) -> str:
        return self._purpose

    @classmethod
    def generate(cls, purpose: str) -> SealKey:
        """A random seal key (for tests)."""
        return cls(_crypto.random_bytes(_crypto.KEY_LEN), purpose)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SealKey):
            return NotImplemented
        return self._purpose == other._purpose and super().__eq__(other)

    __hash__ = None

    def __repr__(self) -> str:
        return f"SealKey(purpose={self._purpose!r}, check={self.check_value})"

    __str__ = __repr__


# -- derivations -------------------------------------------------------------------------


def link_secret(me: PartyIdentity, peer: PublicBundle, engagement_id: str) -> LinkSecret:
    """The link secret of ``engagement_id``, shared by the campaign and the operator.

    ``HKDF-SHA256(ikm=X25519(me, peer), salt=engagement_id as UTF-8,
    info=b"blindlink/v1/link-secret", length=32)``. Any other pair of roles is a
    :class:`PolicyError`: the matcher and measurement must never hold it.
    """
    salt = _check_engagement_id(engagement_id)
    if {me.role, peer.role} != LINK_ROLES:
        raise PolicyError(
            f"only campaign and operator may derive the link secret, not {me.role} with {peer.role}"
        )
    shared = me._agree(peer)
    return LinkSecret(_crypto.hkdf_sha256(shared, salt=salt, info=LINK_SECRET_INFO))


def recipe_key(secret: LinkSecret, recipe_spec: str) -> bytes:
    """The HMAC key of one token recipe.

    ``HKDF-SHA256(ikm=link secret, salt=b"blindlink/v1/recipe", info=recipe_spec as
    UTF-8, length=32)``. ``recipe_spec`` is opaque here (built by the engagement module
    from the scheme version and recipe), but must be non-empty.
    """
    if not isinstance(secret, LinkSecret):
        raise KeyError_("recipe_key needs a LinkSecret")
    if not recipe_spec:
        raise InputError("recipe spec is empty")
    return _crypto.hkdf_sha256(
        secret._material(), salt=RECIPE_SALT, info=recipe_spec.encode("utf-8")
    )


def seal_info(roles: frozenset[str], purpose: str) -> bytes:
    """HKDF ``info`` of a seal key.

    ``b"blindlink/v1/seal|" + "|".join(sorted roles) + "|" + purpose``, e.g.
    ``b"blindlink/v1/seal|campaign|measurement|segments"``.
    """
    return SEAL_INFO_PREFIX + "|".join([*sorted(roles), purpose]).encode("utf-8")


def seal_key(me: PartyIdentity, peer: PublicBundle, engagement_id: str, purpose: str) -> SealKey:
    """The seal key of ``purpose`` between a list owner and measurement.

    "segments": campaign↔measurement; "boxes": operator↔measurement.
    ``HKDF-SHA256(ikm=X25519(me, peer), salt=engagement_id as UTF-8,
    info=seal_info(roles, purpose), length=32)``. Other pairs are a :class:`PolicyError`.
    """
    salt = _check_engagement_id(engagement_id)
    if purpose not in SEAL_PURPOSES:
        raise PolicyError(
            f"unknown seal purpose {purpose!r}; expected one of {', '.join(SEAL_PURPOSES)}"
        )
    roles = frozenset({me.role, peer.role})
    if roles != SEAL_PURPOSES[purpose]:
        pair = " and ".join(sorted(SEAL_PURPOSES[purpose]))
        raise PolicyError(
            f"only {pair} may derive the {purpose!r} seal key, not {me.role} with {peer.role}"
        )
    shared = me._agree(peer)
    key = _crypto.hkdf_sha256(shared, salt=salt, info=seal_info(roles, purpose))
    return SealKey(key, purpose)
