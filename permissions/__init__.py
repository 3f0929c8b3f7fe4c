"""Who may see and do what: roles, the access table, row reach, tokens and passwords."""
