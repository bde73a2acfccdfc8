"""Loopback simulator of the five TikTok data vendors, served from one synthetic world."""

from simulator.faults import FaultConfig
from simulator.server import Simulator
from simulator.world import World

__all__ = ["FaultConfig", "Simulator", "World"]
