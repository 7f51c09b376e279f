"""Workflow files: which files are workflows, the built-ins' config mapping, and the hot-reloading registry."""
