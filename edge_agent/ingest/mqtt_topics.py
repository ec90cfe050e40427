"""Topic filters: which level of a metrics topic names the source."""

from __future__ import annotations


def source_level(topic_filter: str) -> int | None:
    """Return the index of the first `+` level of a filter: where the source name sits."""
    levels = topic_filter.split("/")
    return levels.index("+") if "+" in levels else None


def topic_matches(levels: list[str], topic_levels: list[str]) -> bool:
    """Return whether a topic (split on `/`) matches a filter (split on `/`).

    paho's `topic_matches_sub` builds a matcher tree per call, which showed up in profiles.
    """
    for index, level in enumerate(levels):
        if level == "#":
            return True
        if index >= len(topic_levels) or (level != "+" and level != topic_levels[index]):
            return False
    return len(levels) == len(topic_levels)


class TopicSources:
    """Find the source a topic names, from the first subscribed filter that matches it."""

    def __init__(self, topic_filters: tuple[str, ...]) -> None:
        self._filters = [(f.split("/"), source_level(f)) for f in topic_filters]

    def source_of(self, topic: str) -> str | None:
        """Return the topic level under the matching filter's `+`, or None."""
        topic_levels = topic.split("/")
        for levels, source_at in self._filters:
            if source_at is not None and topic_matches(levels, topic_levels):
                return topic_levels[source_at]
        return None
