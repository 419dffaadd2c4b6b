"""Audit artifacts on disk: find the manifest, check it, verify the signature, read the frame.

An artifact is ``NAME.parquet`` with ``NAME.manifest.json`` beside it. The auditor reads
every artifact it is given, including ones whose manifest or signature is wrong — a
receiver refuses those, but an auditor must still say whether they leak.

Signature verification is one injected callable, :data:`Verifier`: it gets the Parquet
path and the parsed manifest and raises ``VerificationError`` when the signature does not
hold. The default, :func:`key_verifier`, wraps ``hashing.artifacts.verify_artifact`` with
the producers' public key bundles, imported only when called.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from hashing.errors import BlindlinkError, VerificationError
from linkage.audit import checks, source
from linkage.audit.policy import BANDS, POLICIES, ROLES, AuditContext, kind_for_columns
from linkage.audit.report import NO_COLUMN, ArtifactSummary, AuditReport, Finding, Problem

Verifier = Callable[[Path, Mapping[str, Any]], None]
"""Checks an artifact's signature (and whatever else it checks); raises VerificationError."""

MANIFEST_SUFFIX = ".manifest.json"
PARQUET_SUFFIX = ".parquet"
SIGNATURE_CHECK = "signature"


class SignatureUnavailable(BlindlinkError):
    """The signature could not be checked at all (no key, no verifier): the audit is incomplete."""


def role_of(value: Any) -> str | None:
    """The role named by a manifest's ``producer`` (a role, or an object with a ``role``)."""
    if isinstance(value, Mapping):
        value = value.get("role")
    return value if isinstance(value, str) else None


def producer_of(manifest: Mapping[str, Any]) -> str | None:
    """The producer role a manifest declares (``producer_role``, or ``producer``)."""
    role = manifest.get("producer_role")
    return role if isinstance(role, str) else role_of(manifest.get("producer"))


def roles_of(value: Any) -> list[str]:
    """The roles named by a manifest's ``recipients``."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return []
    roles = [role_of(v) for v in value]
    return [r if r is not None else "?" for r in roles]


def _safe_role(role: str | None) -> str:
    return role if role in ROLES else "an unknown role"


def key_verifier(public_keys: Mapping[str, Any]) -> Verifier:
    """The real verifier: ``hashing.artifacts.verify_artifact`` with the producer's bundle.

    ``public_keys`` maps a role to a ``PublicBundle`` or the path of its bundle file. The
    call is made with the manifest's own engagement, first recipient and kind, so that it
    fails on the signature and digest only; the auditor reports engagement, recipient and
    kind itself, each as its own finding.
    """
    bundles: dict[str, Any] = {}

    def verify(path: Path, manifest: Mapping[str, Any]) -> None:
        try:
            from hashing.artifacts import verify_artifact
            from hashing.keys import PublicBundle
        except ImportError as e:
            raise SignatureUnavailable(
                "no signature verifier is installed (hashing.artifacts)"
            ) from e
        role = producer_of(manifest)
        if role is None or role not in public_keys:
            raise SignatureUnavailable(f"no public key bundle for {_safe_role(role)}")
        if role not in bundles:
            key = public_keys[role]
            try:
                bundles[role] = PublicBundle.load(Path(key)) if isinstance(key, str | Path) else key
            except BlindlinkError as e:
                raise SignatureUnavailable(
                    f"the public key bundle of the {role} cannot be read"
                ) from e
        recipients = roles_of(manifest.get("recipients"))
        verify_artifact(
            path,
            engagement_id=str(manifest.get("engagement_id")),
            recipient=recipients[0] if recipients else "",
            kind=str(manifest.get("kind")),
            producer=bundles[role],
        )

    return verify


def manifest_path(parquet: Path) -> Path:
    """``dir/NAME.manifest.json`` for ``dir/NAME.parquet``."""
    name = parquet.name
    stem = name[: -len(PARQUET_SUFFIX)] if name.endswith(PARQUET_SUFFIX) else name
    return parquet.with_name(stem + MANIFEST_SUFFIX)


def _parquet_for(manifest: Path) -> Path:
    return manifest.with_name(manifest.name[: -len(MANIFEST_SUFFIX)] + PARQUET_SUFFIX)


def expand(paths: Iterable[str | Path]) -> tuple[list[Path], list[Problem]]:
    """The Parquet files to audit: files as given, directories by their ``*.parquet``.

    A manifest given (or found in a directory) without its Parquet file is a problem.
    """
    found: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(path.glob("*" + PARQUET_SUFFIX))
            for m in sorted(path.glob("*" + MANIFEST_SUFFIX)):
                if not _parquet_for(m).exists():
                    problems.append(Problem(m.name, "manifest without its Parquet file"))
        elif path.name.endswith(MANIFEST_SUFFIX):
            parquet = _parquet_for(path)
            if parquet.exists():
                found.append(parquet)
            else:
                problems.append(Problem(path.name, "manifest without its Parquet file"))
        elif path.exists():
            found.append(path)
        else:
            problems.append(Problem(path.name, "no such file"))
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique, problems


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, as lowercase hex."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The parsed manifest, or None with the check that failed (missing or invalid)."""
    if not path.is_file():
        return None, "manifest.missing"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None, "manifest.invalid"
    if not isinstance(data, dict):
        return None, "manifest.invalid"
    return data, None


def _schema_names(schema: Any) -> list[str] | None:
    if isinstance(schema, Mapping):
        if "fields" in schema:
            return _schema_names(schema["fields"])
        return [str(k) for k in schema]
    if isinstance(schema, list):
        names: list[str] = []
        for item in schema:
            if isinstance(item, str):
                names.append(item)
            elif isinstance(item, list | tuple) and item and isinstance(item[0], str):
                names.append(item[0])
            elif isinstance(item, Mapping) and isinstance(item.get("name"), str):
                names.append(item["name"])
            else:
                return None
        return names
    return None


def _schema_matches(schema: Any, frame: pl.DataFrame) -> bool:
    """Whether a declared schema (absent: not checked) names the file's columns and dtypes."""
    if schema is None:
        return True
    names = _schema_names(schema)
    if names is None or set(names) != set(frame.columns):
        return False
    if isinstance(schema, Mapping) and all(isinstance(v, str) for v in schema.values()):
        return all(schema[c] == str(frame.schema[c]) for c in frame.columns)
    return True


def check_manifest(
    manifest: Mapping[str, Any],
    *,
    artifact: str,
    frame: pl.DataFrame | None,
    file_digest: str | None,
    context: AuditContext,
) -> list[Finding]:
    """Manifest checks: engagement, kind, producer, recipients, digest, rows, schema, extra."""
    make = checks.make_finding
    out: list[Finding] = []
    kind = manifest.get("kind")
    policy = POLICIES.get(kind) if isinstance(kind, str) else None
    if policy is None:
        out.append(make(artifact, NO_COLUMN, "manifest.kind", 1, "kind unknown to the policies"))
    if manifest.get("engagement_id") != context.engagement_id:
        out.append(make(artifact, NO_COLUMN, "manifest.engagement", 1, "another engagement"))
    producer = producer_of(manifest)
    if policy is not None and producer not in policy.producers:
        out.append(
            make(
                artifact,
                NO_COLUMN,
                "manifest.producer",
                1,
                f"{_safe_role(producer)} may not produce {kind}",
            )
        )
    recipients = roles_of(manifest.get("recipients"))
    if policy is not None:
        wrong = [r for r in recipients if r not in policy.recipients]
        if wrong or not recipients:
            names = ", ".join(_safe_role(r) for r in wrong) or "none"
            out.append(
                make(
                    artifact,
                    NO_COLUMN,
                    "manifest.recipient",
                    max(len(wrong), 1),
                    f"recipient(s) not allowed: {names}",
                )
            )
    declared = manifest.get("sha256")
    if file_digest is not None and (
        not isinstance(declared, str) or declared.lower() != file_digest
    ):
        out.append(
            make(artifact, NO_COLUMN, "manifest.digest", 1, "file does not match its SHA-256")
        )
    rows = manifest.get("row_count")
    if frame is not None and rows is not None and rows != frame.height:
        out.append(
            make(
                artifact,
                NO_COLUMN,
                "manifest.row_count",
                1,
                f"declares {rows if isinstance(rows, int) else 'a non-number'}, "
                f"file has {frame.height}",
            )
        )
    if frame is not None and not _schema_matches(manifest.get("schema"), frame):
        out.append(
            make(
                artifact, NO_COLUMN, "manifest.schema", 1, "declared schema differs from the file's"
            )
        )
    data_file = manifest.get("data_file")
    if isinstance(data_file, str) and data_file != artifact:
        out.append(make(artifact, NO_COLUMN, "manifest.name", 1, "manifest describes another file"))
    out += checks.scan_extra(artifact, manifest.get("extra"))
    return out


@dataclass
class AuditedArtifact:
    """What an audit of one artifact saw, for the engagement-wide checks."""

    name: str
    path: Path
    kind: str | None
    manifest: dict[str, Any] | None
    frame: pl.DataFrame = field(repr=False)


Observer = Callable[[AuditedArtifact], None]


def audit_one(
    path: Path,
    *,
    context: AuditContext,
    verifier: Verifier | None,
    probes: list[pl.DataFrame] | None = None,
    observe: Observer | None = None,
) -> AuditReport:
    """Audit one Parquet artifact and its manifest (see :func:`audit_paths`).

    With ``probes`` (a list), the artifact's values to look for in the sources are
    appended to it; :func:`audit_paths` searches them all at once.
    """
    report = AuditReport(context.engagement_id)
    name = path.name
    manifest, manifest_failure = read_manifest(manifest_path(path))
    try:
        digest = file_sha256(path)
        frame = pl.read_parquet(path)
    except Exception as e:  # OSError, PolarsError, and whatever a damaged file provokes
        report.problems.append(Problem(name, f"unreadable Parquet file ({type(e).__name__})"))
        return report
    make = checks.make_finding
    declared = manifest.get("kind") if manifest is not None else None
    kind = declared if isinstance(declared, str) and declared in POLICIES else None
    if kind is None:
        kind = kind_for_columns(frame.schema)
    if manifest is None:
        report.findings.append(make(name, NO_COLUMN, manifest_failure or "manifest.missing", 1))
    else:
        found = check_manifest(
            manifest, artifact=name, frame=frame, file_digest=digest, context=context
        )
        report.findings += found
        digest_ok = not any(f.check == "manifest.digest" for f in found)
        if verifier is not None and digest_ok:
            try:
                verifier(path, manifest)
            except VerificationError:
                report.findings.append(
                    make(name, NO_COLUMN, "manifest.signature", 1, "signature does not verify")
                )
            except SignatureUnavailable as e:
                report.problems.append(Problem(name, f"signature not checked: {e}"))
            except BlindlinkError as e:  # the verifier could not run (not a bad signature)
                reason = f"signature not checked ({type(e).__name__})"
                report.problems.append(Problem(name, reason))
    report.findings += checks.audit_frame(frame, artifact=name, kind=kind, context=context)
    if probes is not None:
        probes.append(_probes(frame, name, kind, context))
    report.artifacts.append(ArtifactSummary(name, kind or "unknown", frame.height))
    if observe is not None:
        observe(AuditedArtifact(name, path, kind, manifest, frame))
    return report


def _vocabulary(context: AuditContext) -> set[str]:
    return {*context.segment_labels, *context.recipe_names, *BANDS}


def _probes(
    frame: pl.DataFrame, name: str, kind: str | None, context: AuditContext
) -> pl.DataFrame:
    """The source-search probes of one artifact: its text and binary columns, and integer
    columns outside the contract (a contract number such as a quarter-hour is no ID)."""
    policy = POLICIES.get(kind) if kind else None
    columns = {
        c: checks.column_label(c, i)
        for i, c in enumerate(frame.columns)
        if frame.schema[c] in (pl.Binary, pl.String)
        or (frame.schema[c].is_integer() and (policy is None or c not in policy.contract))
    }
    return source.probes(frame, columns, artifact=name, vocabulary=_vocabulary(context))


def audit_paths(
    paths: Iterable[str | Path],
    *,
    context: AuditContext,
    verifier: Verifier | None = None,
    check_signatures: bool = True,
    sources: Iterable[str | Path] = (),
    observe: Observer | None = None,
) -> AuditReport:
    """Audit every artifact under ``paths`` (files, manifests or directories).

    ``verifier`` checks signatures; by default :func:`key_verifier` over
    ``context.public_keys``. ``check_signatures=False`` skips them (the report lists
    ``signature`` under ``skipped``). ``sources`` are party input files to search for
    (``--source``). ``observe`` receives each artifact read, for engagement-wide checks.
    """
    report = AuditReport(context.engagement_id)
    files, problems = expand(paths)
    report.problems += problems
    if not files and not problems:
        # Auditing nothing proves nothing: a wrong folder must not read as "clean".
        report.problems.append(Problem("-", "no artifact found under the given paths"))
    if not check_signatures:
        verifier = None
        report.skipped.append(SIGNATURE_CHECK)
    elif verifier is None:
        verifier = key_verifier(context.public_keys or {})
    loaded: dict[str, pl.DataFrame] = {}
    for src in sources:
        src_path = Path(src)
        try:
            loaded[src_path.name] = source.load_source(src_path)
        except BlindlinkError:
            report.problems.append(Problem(src_path.name, "source file cannot be read"))
    probes: list[pl.DataFrame] | None = [] if loaded else None
    for path in files:
        report.extend(
            audit_one(path, context=context, verifier=verifier, probes=probes, observe=observe)
        )
    if probes:
        for hit in source.search(loaded, pl.concat(probes)):
            check = f"source.{hit.algo}"
            finding = checks.make_finding(hit.artifact, hit.column, check, hit.rows, hit.note)
            report.findings.append(finding)
    return report
