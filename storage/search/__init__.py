"""Full-text search over every version of every article (issue 19).

`text` owns the language-aware token rules shared by the index, the query parser and snippets.
"""
