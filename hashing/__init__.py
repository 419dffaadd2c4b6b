"""The party side of blindlink: normalizers, token recipes, keys, sealing and signing.

This package is the only place where secrets and PII exist. It never imports ``linkage``.
"""

__version__ = "0.1.0"
