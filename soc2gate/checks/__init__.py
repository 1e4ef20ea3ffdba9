"""One module per check. Registered explicitly in soc2gate.registry."""
