"""Resolvers of the activity fiches and their annexes."""
