"""The measurement settings, validated once, with every problem reported together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hashing.errors import ConfigError, PolicyError

#: The floor under ``k_min``: no configuration may publish a cell of fewer households.
K_FLOOR = 10


@dataclass(frozen=True)
class MeasureConfig:
    """How measurement credits viewing and protects what it publishes.

    ``credit_minutes``: a box is credited to a channel in a quarter-hour only if it watched
    that channel (its longest one there) at least this long; in (0, 15].
    ``k_min``: a published cell counts at least this many distinct households; never under
    ``K_FLOOR`` (``PolicyError``).
    ``dp_epsilon``: 0 publishes exact counts; above 0, OpenDP's Gaussian mechanism adds
    noise to every count so that the whole release is (``dp_epsilon``, ``dp_delta``)-DP
    for one household.
    ``dp_max_channels``: under DP, the most channels a household counts on in one
    quarter-hour (more boxes on more channels are cut to this bound; it sets the noise).
    ``light_hours`` / ``heavy_hours``: average daily viewing under ``light_hours`` is
    "light", at or above ``heavy_hours`` "heavy", in between "medium".
    ``channels``: the known channels. Events on any other channel are counted as
    ``unknown_channel`` and left out. ``None`` takes the channels seen in the log (DP
    requires them declared: the set of published cells must not depend on the data).
    ``period``: the first and last day measured (inclusive). Viewing outside is cropped and
    counted. ``None`` takes the first to the last day of the valid viewing (DP requires
    it declared, for the same reason as ``channels``).
    """

    credit_minutes: float = 5.0
    k_min: int = 50
    dp_epsilon: float = 0.0
    dp_delta: float = 1e-9
    dp_max_channels: int = 2
    light_hours: float = 2.0
    heavy_hours: float = 6.0
    channels: tuple[str, ...] | None = None
    period: tuple[date, date] | None = None

    def __post_init__(self) -> None:
        if self.channels is not None and not isinstance(self.channels, tuple):
            object.__setattr__(self, "channels", tuple(self.channels))
        self.validate()

    @property
    def dp(self) -> bool:
        """Whether differential-privacy noise is requested."""
        return self.dp_epsilon > 0

    def validate(self) -> None:
        """Raise ``PolicyError`` for a k under the floor, ``ConfigError`` for the rest."""
        if self.k_min < K_FLOOR:
            raise PolicyError(
                f"measure.k_min is {self.k_min}: cells of fewer than {K_FLOOR} households "
                f"may never be published; set k_min to {K_FLOOR} or more"
            )
        problems: list[tuple[str, str]] = []
        if not 0 < self.credit_minutes <= 15:
            problems.append(("measure.credit_minutes", "must be in (0, 15]"))
        if self.dp_epsilon < 0:
            problems.append(("measure.dp_epsilon", "must be 0 (off) or positive"))
        if not 0 < self.dp_delta < 1:
            problems.append(("measure.dp_delta", "must be in (0, 1)"))
        if self.dp_max_channels < 1:
            problems.append(("measure.dp_max_channels", "must be at least 1"))
        if not 0 < self.light_hours < self.heavy_hours <= 24:
            problems.append(
                ("measure.light_hours", "need 0 < light_hours < heavy_hours <= 24 (hours a day)")
            )
        if self.channels is not None:
            if not self.channels:
                problems.append(("measure.channels", "is empty; leave it out to use the log's"))
            if any(not isinstance(c, str) or not c for c in self.channels):
                problems.append(("measure.channels", "every channel must be a non-empty string"))
            if len(set(self.channels)) != len(self.channels):
                problems.append(("measure.channels", "lists a channel twice"))
        if self.period is not None and self.period[0] > self.period[1]:
            problems.append(("measure.period", "first day is after the last day"))
        if self.dp:
            if self.channels is None:
                problems.append(("measure.channels", "must be declared when dp_epsilon > 0"))
            if self.period is None:
                problems.append(("measure.period", "must be declared when dp_epsilon > 0"))
        if problems:
            raise ConfigError("measure config", problems)
