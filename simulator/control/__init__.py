"""The simulator's control plane under ``/_sim/`` (JSON): health, reset, state, clock."""
from simulator.control.blueprint import create_blueprint

__all__ = ["create_blueprint"]
