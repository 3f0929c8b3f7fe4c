"""Tortoise models, one module per domain (see graph.settings.MODEL_MODULES)."""
