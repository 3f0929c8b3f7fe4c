"""Business rules and resolvers, one module per domain."""
