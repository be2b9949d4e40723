"""pytest plugin of the POSX harness (fixtures only; the engine lives in harness/). Registered through the pytest11 entry point."""
