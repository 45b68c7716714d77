"""Putting the archive in front of readers: the datasette plugin and
``bulletin serve``."""
