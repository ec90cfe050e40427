"""Under `--chaos`, each site reaches the control plane and the broker through its own relays.

The site's enrollment bundle names its control relay as the control plane, and its settings
name its MQTT relay as the broker, so cutting the relays cuts exactly that site's link. The
broker is relayed only when it speaks plain MQTT: a TLS broker's certificate names its own
host, not the relay's, so then only the control link can be cut.
"""

from __future__ import annotations

from edgeward.demo.relay import LinkRelay, Upstream
from edgeward.simulator.mqtt_link import parse_mqtt_url

LOOPBACK = "127.0.0.1"


class SiteLinks:
    """The relays of every site: (control[, mqtt]) per site name."""

    def __init__(self) -> None:
        self.relays: dict[str, tuple[LinkRelay, ...]] = {}
        self.mqtt = False
        """Whether the sites' MQTT goes through their relays too."""

    def start(self, sites: tuple[str, ...], *, control_port: int, broker_url: str) -> None:
        """Start a control relay (and an MQTT relay) for every site."""
        broker = parse_mqtt_url(broker_url)
        self.mqtt = not broker.tls
        control = Upstream(host=LOOPBACK, port=control_port)
        for site in sites:
            relays = [LinkRelay(f"{site} control", control)]
            if self.mqtt:
                relays.append(
                    LinkRelay(f"{site} mqtt", Upstream(host=broker.host, port=broker.port))
                )
            self.relays[site] = tuple(relay.start() for relay in relays)

    def control_addresses(self) -> dict[str, str]:
        """Return the control-plane address each site's enrollment bundle should name."""
        return {site: f"tcp://{LOOPBACK}:{relays[0].port}" for site, relays in self.relays.items()}

    def broker_urls(self) -> dict[str, str]:
        """Return the broker URL each site's settings should name (relayed sites only)."""
        return {
            site: f"mqtt://{LOOPBACK}:{relays[1].port}"
            for site, relays in self.relays.items()
            if len(relays) > 1
        }

    def of(self, site: str) -> tuple[LinkRelay, ...]:
        """Return a site's relays (none when the run has no chaos)."""
        return self.relays.get(site, ())

    def stop(self) -> None:
        """Stop every relay."""
        for relays in self.relays.values():
            for relay in relays:
                relay.stop()
