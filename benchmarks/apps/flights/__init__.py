"""The bundled flight-search site ("SkyFinder"), served on loopback for demos and suites.

``FlightsServer`` serves the pages and the JSON API; ``data`` holds the deterministic
schedule that both the server and task authors read.
"""

from benchmarks.apps.flights.promo import Promo, PromoButton, PromoForm, PromoLink
from benchmarks.apps.flights.server import FlightsServer

__all__ = ["FlightsServer", "Promo", "PromoButton", "PromoForm", "PromoLink"]
