"""The unit account (issue #21): session log-in of a unit's contacts and their pages."""
