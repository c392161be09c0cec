"""neptune-watch Lambda code: domain rules (statuses, errors, poll policy, outcomes) and handlers.

Handlers live in ``watcher.handlers``; everything else is plain, testable code.
"""

SCHEMA_VERSION = "1"
