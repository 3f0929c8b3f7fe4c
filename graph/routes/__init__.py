"""The HTTP routes besides /graphql: annex downloads (annexes.py) and the DOCX exports (exports.py)."""
