"""The demo report's MQTT accounting: what counts as lost, and what only changed bins."""

from __future__ import annotations

from edgeward.demo.report import SiteCounts, mqtt_losses
from edgeward.simulator.run_options import PublishReport

BEFORE = SiteCounts(ingested=100, quarantined=5, duplicates=0, quarantined_by_reason={})


def published(readings: int, bad: int) -> PublishReport:
    return PublishReport(
        published=readings + bad,
        good=readings,
        bad=bad,
        readings=readings,
        bad_by_reason={},
        anomalies=0,
        unacknowledged=0,
        elapsed_s=1.0,
    )


def after(ingested: int, quarantined: int) -> SiteCounts:
    return SiteCounts(
        ingested=BEFORE.ingested + ingested,
        quarantined=BEFORE.quarantined + quarantined,
        duplicates=0,
        quarantined_by_reason={},
    )


def test_every_message_stored_or_quarantined_is_accounted_for() -> None:
    account = mqtt_losses(
        before=BEFORE, after=after(50, 4), published=published(48, 4), story_readings=2
    )
    assert (account["lost"], account["good_quarantined"]) == (0, 0)


def test_a_good_reading_quarantined_as_a_conflict_is_not_lost() -> None:
    account = mqtt_losses(
        before=BEFORE, after=after(49, 5), published=published(48, 4), story_readings=2
    )
    assert (account["lost"], account["good_quarantined"]) == (0, 1)


def test_a_message_neither_stored_nor_quarantined_is_lost() -> None:
    account = mqtt_losses(
        before=BEFORE, after=after(49, 3), published=published(48, 4), story_readings=2
    )
    assert account["lost"] == 2
