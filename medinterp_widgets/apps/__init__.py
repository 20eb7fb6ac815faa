"""Apps: `build_app(name, ...)` composes widgets into pages (testable without Voila)."""
