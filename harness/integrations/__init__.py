"""Drop-ins that let a POSX backend built on a framework be gated by the harness."""
