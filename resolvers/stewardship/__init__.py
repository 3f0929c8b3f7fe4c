"""Data stewardship (issue 17): the retention of learners' data and its erasure, across every domain."""
