"""Resolvers of the people: accounts, sign-in, identities, rosters, trainers, schools."""
