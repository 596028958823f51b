"""Task forms: JSON Schema + UI schema files from the model, their validation and rendering.

Knows nothing of HTTP or of the engine: it takes schemas and submitted values, and returns clean
values, field errors, or field descriptions for templates.
"""
