"""Thin Lambda entry points: parse the event, make one call into ``watcher``, return."""
