"""Resolvers of the company bilans, their grid, the interim reviews and the dashboards."""
