"""The configuration file, at the application's root: its models, its loading, its problems.

models.py declares the whole file (composing the crawler's own `crawler.config` models), loader.py
reads the YAML and applies the layers in their order of precedence (including the `MFAWATCH_*`
environment), and problems.py turns every validation error into a `file:line: field: message`.
"""
