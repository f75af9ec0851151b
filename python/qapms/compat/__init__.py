"""Drop-in replacements for the Python libraries QA scripts already use.

Each module mirrors the most used calls of one library with the same signatures and return
shapes, running on qapms's Rust clients underneath, so a script migrates by changing an import:

- :mod:`qapms.compat.jira`: ``from qapms.compat.jira import JIRA`` for pycontribs ``jira``.
"""
