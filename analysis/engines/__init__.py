"""How the analyses run: maps read once into accumulators (`maps`), streaming (`streaming`, `corpus`), Ray."""
