"""Measurement: quarter-hour audiences per segment, viewing band and channel, published as
aggregate cells under a k-minimum, complementary suppression and optional differential
privacy. See docs/measurement.md.

This package sees unsealed box lists and segment bitsets but imports no key material: the
role command unseals and hands it plain frames.
"""

from linkage.measure.config import K_FLOOR, MeasureConfig
from linkage.measure.crediting import ADJUSTMENT_REASONS, EXCLUSION_REASONS
from linkage.measure.pipeline import MeasureResult, measure
from linkage.measure.schema import SEGMENT_SUMMARY, VIEWERSHIP

__all__ = [
    "ADJUSTMENT_REASONS",
    "EXCLUSION_REASONS",
    "K_FLOOR",
    "SEGMENT_SUMMARY",
    "VIEWERSHIP",
    "MeasureConfig",
    "MeasureResult",
    "measure",
]
