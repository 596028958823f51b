"""The models pages of process owners (and administrators): deployed versions with their diagrams,
decision tables and differences, the browser modeller on a per-user draft, uploads from other
modellers, deploying, migrating running complaints, and exporting a version as a zip of files.

`blueprint` (access, limits, model files as data), `versions` (deployed versions), `drafts` (the draft and the
modeller), `modeller_words` (the modeller's words).
"""
from __future__ import annotations

# Importing the page modules declares their routes on the blueprint.
from web.modelling import drafts, versions  # noqa: F401
from web.modelling.blueprint import bp, model_file_response

__all__ = ["bp", "model_file_response"]
