"""The bundled flight-search site, served on loopback for demos and suites."""

from benchmarks.apps.flights.server import FlightsServer

__all__ = ["FlightsServer"]
