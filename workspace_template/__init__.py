"""The files `intern init` copies into a new workspace (read through importlib.resources)."""
