"""From lines to an issue: line roles (layout), articles (segment) and issue
metadata (extract). Pure functions over ``Page``/``Block``/``Article``."""
