"""The synthetic multi-party world: a seeded generator and the small committed sample."""
