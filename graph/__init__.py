"""The GraphQL schema, the ASGI app and the command line."""
