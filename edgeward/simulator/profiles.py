"""Cell profiles for the simulator: what kind of cell each source is, drawn from the seed.

Every random choice is made by a numpy generator seeded from (seed, site, source index)
through `SeedSequence`, with the site hashed by SHA-256, so a cell is the same whatever else
is simulated beside it and whichever process runs it. The site also draws its own mix of
cell types, load level, climate and clock phase, so two sites are never identically
distributed (non-IID), which is what federated learning has to cope with.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np

# A site name goes into MQTT topics and source names: no '/', '+', '#' or spaces.
SITE_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# Key words appended to (seed, site hash) so that each use draws from its own stream.
_SITE_KEY: Final = (0, 0)
_CELL_KEY: Final = 1
BAD_PAYLOAD_KEY: Final = (2, 0)


class CellType(StrEnum):
    """The kind of area a cell serves, which sets its daily and weekly load shape."""

    BUSINESS = "business"
    RESIDENTIAL = "residential"
    TRANSPORT = "transport"
    RURAL = "rural"


@dataclass(frozen=True, kw_only=True, slots=True)
class CellTraits:
    """What a cell type looks like: hourly load shapes (local time) and ranges to draw from."""

    weekday: tuple[float, ...]
    weekend: tuple[float, ...]
    capacity_users: tuple[int, int]
    dl_capacity_mbps: tuple[float, float]
    peak_load: tuple[float, float]


# Hourly relative load, hours 0..23. Hour 0 is equal on weekdays and weekends so that the
# switch at midnight is continuous.
# fmt: off
CELL_TRAITS: Final[Mapping[CellType, CellTraits]] = {
    CellType.BUSINESS: CellTraits(
        weekday=(.10, .07, .05, .05, .05, .07, .15, .35, .65, .85, .92, .95,
                 .85, .88, .95, .93, .88, .72, .50, .35, .27, .22, .17, .13),
        weekend=(.10, .07, .05, .05, .05, .05, .07, .10, .14, .18, .22, .25,
                 .27, .27, .26, .25, .24, .22, .20, .18, .16, .14, .12, .11),
        capacity_users=(200, 600),
        dl_capacity_mbps=(400.0, 1200.0),
        peak_load=(0.7, 1.0),
    ),
    CellType.RESIDENTIAL: CellTraits(
        weekday=(.30, .18, .11, .08, .07, .09, .20, .38, .40, .32, .30, .31,
                 .35, .34, .33, .36, .45, .58, .70, .82, .92, .95, .80, .52),
        weekend=(.30, .22, .15, .10, .08, .08, .10, .16, .28, .45, .58, .65,
                 .68, .66, .64, .65, .68, .72, .78, .85, .93, .95, .82, .55),
        capacity_users=(150, 450),
        dl_capacity_mbps=(300.0, 900.0),
        peak_load=(0.65, 1.0),
    ),
    CellType.TRANSPORT: CellTraits(
        weekday=(.08, .04, .03, .03, .05, .20, .60, .95, .90, .55, .35, .33,
                 .38, .36, .38, .50, .75, .97, .88, .55, .35, .25, .18, .12),
        weekend=(.08, .05, .03, .03, .03, .05, .10, .18, .28, .38, .48, .55,
                 .58, .58, .56, .55, .52, .48, .42, .35, .28, .20, .15, .10),
        capacity_users=(200, 800),
        dl_capacity_mbps=(300.0, 1000.0),
        peak_load=(0.7, 1.0),
    ),
    CellType.RURAL: CellTraits(
        weekday=(.10, .06, .04, .04, .04, .06, .14, .25, .30, .32, .33, .35,
                 .38, .36, .34, .35, .40, .48, .55, .62, .65, .58, .38, .20),
        weekend=(.10, .07, .05, .04, .04, .05, .08, .15, .24, .33, .40, .44,
                 .46, .44, .42, .42, .45, .50, .56, .62, .64, .56, .36, .20),
        capacity_users=(30, 150),
        dl_capacity_mbps=(80.0, 300.0),
        peak_load=(0.5, 0.9),
    ),
}
# fmt: on
CELL_TYPES: Final = tuple(CellType)


@dataclass(frozen=True, kw_only=True, slots=True)
class SiteProfile:
    """What one site shares across its cells: type mix, load level, climate and clock phase."""

    site: str
    cell_mix: tuple[float, ...]
    load_scale: float
    ambient_c: float
    phase_h: float


@dataclass(frozen=True, kw_only=True, slots=True)
class SourceProfile:
    """One simulated cell: its type and the constants its KPIs are derived with."""

    site: str
    source: str
    index: int
    cell_type: CellType
    capacity_users: int
    peak_load: float
    phase_h: float
    noise: float
    dl_capacity_mbps: float
    ul_capacity_mbps: float
    ul_prb_share: float
    base_latency_ms: float
    base_loss_pct: float
    ambient_c: float
    temperature_offset_c: float
    temperature_swing_c: float


def check_site(site: str) -> None:
    """Raise `ValueError` unless `site` is usable in topics and source names."""
    if not SITE_PATTERN.match(site):
        raise ValueError(
            f"site {site[:80]!r} must be 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )


def source_name(site: str, index: int) -> str:
    """Return the source (cell) name of cell `index` at `site`."""
    return f"{site}-cell-{index:03d}"


def seed_sequence(seed: int, site: str, *key: int) -> np.random.SeedSequence:
    """Return the seed sequence for (seed, site, key), hashing the site stably."""
    if seed < 0:
        raise ValueError(f"seed must be zero or positive, got {seed}")
    digest = hashlib.sha256(site.encode("utf-8")).digest()
    site_words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.SeedSequence([seed, *site_words, *key])


def site_profile(site: str, seed: int) -> SiteProfile:
    """Draw the site-wide traits of `site` for `seed`."""
    check_site(site)
    rng = np.random.default_rng(seed_sequence(seed, site, *_SITE_KEY))
    mix = rng.dirichlet(np.full(len(CELL_TYPES), 0.8))
    return SiteProfile(
        site=site,
        cell_mix=tuple(float(x) for x in mix),
        load_scale=float(rng.uniform(0.65, 1.1)),
        ambient_c=float(rng.uniform(0.0, 28.0)),
        phase_h=float(rng.uniform(-0.75, 0.75)),
    )


def cell_seeds(seed: int, site: str, index: int) -> list[np.random.SeedSequence]:
    """Return the (profile, noise, anomaly) seed sequences of one cell."""
    return seed_sequence(seed, site, _CELL_KEY, index).spawn(3)


def profiles_for(site: str, sources: int, seed: int) -> list[SourceProfile]:
    """Draw the profiles of the `sources` cells of `site` for `seed`."""
    if sources < 1:
        raise ValueError(f"sources must be at least 1, got {sources}")
    traits_of_site = site_profile(site, seed)
    return [_draw_profile(traits_of_site, seed, index) for index in range(sources)]


def _draw_profile(site: SiteProfile, seed: int, index: int) -> SourceProfile:
    rng = np.random.default_rng(cell_seeds(seed, site.site, index)[0])
    cell_type = CELL_TYPES[int(rng.choice(len(CELL_TYPES), p=site.cell_mix))]
    traits = CELL_TRAITS[cell_type]
    dl_capacity = float(rng.uniform(*traits.dl_capacity_mbps))
    peak = float(rng.uniform(*traits.peak_load)) * site.load_scale
    return SourceProfile(
        site=site.site,
        source=source_name(site.site, index),
        index=index,
        cell_type=cell_type,
        capacity_users=int(rng.integers(traits.capacity_users[0], traits.capacity_users[1] + 1)),
        peak_load=min(peak, 1.0),
        phase_h=site.phase_h + float(rng.uniform(-0.5, 0.5)),
        noise=float(rng.uniform(0.02, 0.07)),
        dl_capacity_mbps=dl_capacity,
        ul_capacity_mbps=dl_capacity * float(rng.uniform(0.12, 0.25)),
        ul_prb_share=float(rng.uniform(0.35, 0.65)),
        base_latency_ms=float(rng.uniform(8.0, 25.0)),
        base_loss_pct=float(rng.uniform(0.01, 0.2)),
        ambient_c=site.ambient_c,
        temperature_offset_c=float(rng.uniform(2.0, 10.0)),
        temperature_swing_c=float(rng.uniform(3.0, 8.0)),
    )
