"""Resolvers of the periods: their templates, the periods and portfolios, the liaison fiche."""
