"""The workflow engine: runs complaint lifecycles on SpiffWorkflow and persists them.

Knows nothing about HTTP. Entry points (web, CLI) call `engine.services` inside a unit of work.
"""
