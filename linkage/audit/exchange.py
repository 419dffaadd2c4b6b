"""Engagement-wide checks: the rules no single artifact can show broken.

* the engagement itself: every recipe passes ``lint_recipe``; ``k_min`` is at least 10;
* the exchange graph: no role received a kind the design says it must never hold (the
  matcher no viewing and no household outputs, measurement no tokens, list-owner payloads
  or record references, nobody but measurement the households and members...), and no
  kind outside the design changed hands at all;
* keys: all artifacts of one producer carry one key fingerprint, and two producers never
  share one;
* linkage across artifacts: a value that is a list owner's record reference or token must
  not reappear in anything the matcher or measurement produced (a "fresh" household
  reference that is really a campaign ref links measurement back to the voter file), and
  every member belongs to a household that was delivered;
* replays: one artifact id delivered twice.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from linkage.audit import checks
from linkage.audit.artifact import AuditedArtifact, Verifier, audit_paths, producer_of, roles_of
from linkage.audit.policy import MIN_K, NEVER_RECEIVES, POLICIES, AuditContext, Role
from linkage.audit.report import NO_COLUMN, AuditReport, Finding

Lint = Callable[[Any], str | None]
ENGAGEMENT = "engagement"
LIST_OWNER_KINDS = frozenset({"tokens", "campaign_payloads", "operator_payloads"})
_PLAIN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _shown(text: Any) -> str:
    """A kind or role as it may appear in a note: plain identifiers only."""
    return text if isinstance(text, str) and _PLAIN.match(text) else "an unrecognised value"


def fingerprint_of(manifest: dict[str, Any]) -> str | None:
    """The signing key fingerprint a manifest declares, wherever the format puts it."""
    for key in ("producer_fingerprint", "key_fingerprint", "fingerprint"):
        value = manifest.get(key)
        if isinstance(value, str):
            return value
    producer = manifest.get("producer")
    if isinstance(producer, dict) and isinstance(producer.get("fingerprint"), str):
        return str(producer["fingerprint"])
    return None


@dataclass
class ExchangeView:
    """What the engagement-wide checks keep of each audited artifact (see ``observe``)."""

    manifests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refs: list[pl.Series] = field(default_factory=list)
    tokens: list[pl.Series] = field(default_factory=list)
    outputs: list[tuple[str, str, pl.Series]] = field(default_factory=list)
    households: list[pl.Series] = field(default_factory=list)
    members: list[tuple[str, pl.Series]] = field(default_factory=list)

    def observe(self, seen: AuditedArtifact) -> None:
        """Keep the manifest and the binary columns the cross-artifact checks compare."""
        if seen.manifest is not None:
            self.manifests.append((seen.name, seen.manifest))
        frame = seen.frame
        binary = [c for c in frame.columns if frame.schema[c] == pl.Binary]
        if seen.kind in LIST_OWNER_KINDS:
            # the references and keyed tokens of the list owners; their sealed blobs are
            # meant to reach measurement through the matcher, so they are not compared
            rules = POLICIES[seen.kind].columns
            for column in binary:
                role = rules[column].role if column in rules else None
                if role is Role.REF:
                    self.refs.append(frame[column].drop_nulls())
                elif role is Role.TOKEN:
                    self.tokens.append(frame[column].drop_nulls())
            return
        for column in binary:
            self.outputs.append((seen.name, column, frame[column]))
        if seen.kind == "households" and "household" in binary:
            self.households.append(frame["household"])
        if seen.kind == "members" and "household" in binary:
            self.members.append((seen.name, frame["household"]))


def engagement_findings(context: AuditContext, lint: Lint | None) -> list[Finding]:
    """The engagement's own rules: k-minimum floor and recipe lint."""
    make = checks.make_finding
    out: list[Finding] = []
    if context.k_min < MIN_K:
        out.append(make(ENGAGEMENT, NO_COLUMN, "engagement.k_min", 1, f"k_min below {MIN_K}"))
    if lint is not None:
        for recipe in context.recipes:
            why = lint(recipe)
            if why is not None:
                name = _shown(getattr(recipe, "name", None))
                out.append(
                    make(
                        ENGAGEMENT, NO_COLUMN, "engagement.recipe_lint", 1, f"recipe {name}: {why}"
                    )
                )
    return out


def graph_findings(manifests: Iterable[tuple[str, dict[str, Any]]]) -> list[Finding]:
    """Deliveries the design forbids: a role receiving a kind it must never hold."""
    out: list[Finding] = []
    for name, manifest in manifests:
        kind = manifest.get("kind")
        known = isinstance(kind, str) and kind in POLICIES
        for role in roles_of(manifest.get("recipients")):
            if not known:
                note = f"{_shown(role)} received a kind outside the design ({_shown(kind)})"
            elif kind in NEVER_RECEIVES.get(role, frozenset()):
                note = f"{role} must never receive {kind}"
            else:
                continue
            out.append(checks.make_finding(name, NO_COLUMN, "exchange.graph", 1, note))
    return out


def fingerprint_findings(manifests: Iterable[tuple[str, dict[str, Any]]]) -> list[Finding]:
    """One producer, one key; two producers, two keys."""
    make = checks.make_finding
    by_role: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name, manifest in manifests:
        role = producer_of(manifest)
        fp = fingerprint_of(manifest)
        if role is not None and fp is not None:
            by_role[role].append((name, fp))
    out: list[Finding] = []
    owner: dict[str, str] = {}
    for role, items in sorted(by_role.items()):
        counts = Counter(fp for _, fp in items)
        usual = counts.most_common(1)[0][0]
        for name, fp in items:
            if fp != usual:
                out.append(
                    make(
                        name,
                        NO_COLUMN,
                        "exchange.fingerprint",
                        1,
                        f"{_shown(role)} signed with {len(counts)} keys",
                    )
                )
        for fp in counts:
            if fp in owner and owner[fp] != role:
                for name, item_fp in items:
                    if item_fp == fp:
                        out.append(
                            make(
                                name,
                                NO_COLUMN,
                                "exchange.fingerprint_shared",
                                1,
                                f"same key as the {_shown(owner[fp])}",
                            )
                        )
            owner.setdefault(fp, role)
    return out


def duplicate_findings(manifests: Iterable[tuple[str, dict[str, Any]]]) -> list[Finding]:
    """An artifact id delivered more than once (a replay or a copy under another name)."""
    seen: dict[str, str] = {}
    out: list[Finding] = []
    for name, manifest in manifests:
        aid = manifest.get("artifact_id")
        if not isinstance(aid, str):
            continue
        if aid in seen:
            out.append(
                checks.make_finding(
                    name, NO_COLUMN, "exchange.duplicate_artifact", 1, f"same id as {seen[aid]}"
                )
            )
        else:
            seen[aid] = name
    return out


def _concat_unique(parts: list[pl.Series]) -> pl.Series | None:
    if not parts:
        return None
    return pl.concat([p.rename("v") for p in parts]).unique()


def linkage_findings(view: ExchangeView) -> list[Finding]:
    """List-owner references and tokens reused downstream; members without a household."""
    make = checks.make_finding
    out: list[Finding] = []
    refs = _concat_unique(view.refs)
    tokens = _concat_unique(view.tokens)
    for name, column, values in view.outputs:
        if refs is not None:
            n = int(values.is_in(refs.implode()).sum())
            if n:
                out.append(
                    make(name, column, "exchange.ref_reuse", n, "list-owner record references")
                )
        if tokens is not None:
            n = int(values.is_in(tokens.implode()).sum())
            if n:
                out.append(make(name, column, "exchange.token_reuse", n, "list-owner tokens"))
    households = _concat_unique(view.households)
    if households is not None:
        for name, members in view.members:
            n = int((~members.drop_nulls().is_in(households.implode())).sum())
            if n:
                out.append(
                    make(
                        name, "household", "exchange.orphan_household", n, "household not delivered"
                    )
                )
    return out


def _default_lint() -> Lint | None:
    try:
        from hashing.engagement import lint_recipe
    except ImportError:
        return None
    return lint_recipe


def audit_exchange(
    paths: Iterable[str | Path],
    *,
    context: AuditContext,
    verifier: Verifier | None = None,
    check_signatures: bool = True,
    sources: Iterable[str | Path] = (),
    lint: Lint | None = None,
) -> AuditReport:
    """Audit every artifact (as :func:`audit_paths`) and then the exchange as a whole.

    ``lint`` judges each recipe of ``context.recipes`` (default:
    ``hashing.engagement.lint_recipe``).
    """
    view = ExchangeView()
    report = audit_paths(
        paths,
        context=context,
        verifier=verifier,
        check_signatures=check_signatures,
        sources=sources,
        observe=view.observe,
    )
    lint = lint if lint is not None else _default_lint()
    if lint is None and context.recipes:
        report.skipped.append("recipe_lint")
    report.findings += engagement_findings(context, lint)
    report.findings += graph_findings(view.manifests)
    report.findings += fingerprint_findings(view.manifests)
    report.findings += duplicate_findings(view.manifests)
    report.findings += linkage_findings(view)
    return report
