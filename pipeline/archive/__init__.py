"""The SQLite archive: schema and atomic per-issue load, Chinese full-text
search, entities (units, people, places) and the series report."""
