"""The one exception hierarchy of blindlink.

Messages name files, columns, row numbers, key paths and the fix; they never carry a
PII value, a token or key material. Causes are chained with ``raise ... from e``.
"""

from __future__ import annotations


class BlindlinkError(Exception):
    """Base of every error blindlink raises on purpose."""


class ConfigError(BlindlinkError):
    """The engagement file (or another configuration) is invalid.

    ``problems`` lists every problem found, each as ``(key_path, message)``, so that a
    user fixes them all in one pass.
    """

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {path}: {msg}" for path, msg in self.problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{source}: {count} {noun}\n{lines}")


class InputError(BlindlinkError):
    """A party's input file cannot be read as declared (missing column, bad encoding...)."""


class KeyError_(BlindlinkError):
    """A key file is missing, malformed, of the wrong kind, or cannot be decrypted."""


class VerificationError(BlindlinkError):
    """An artifact failed verification: signature, digest, engagement, recipient or kind.

    Deliberately opaque about secret material; it names the artifact and the check.
    """


class PolicyError(BlindlinkError):
    """An operation would break a privacy rule (a recipe too weak, k under the minimum...)."""
