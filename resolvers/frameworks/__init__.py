"""Resolvers of the frameworks (référentiels): reading, importing, retiring."""
