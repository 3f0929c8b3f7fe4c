"""Resolvers of the data gathered for the exported documents (the documents themselves are built by exports/)."""
