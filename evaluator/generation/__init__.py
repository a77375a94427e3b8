"""Generation backends (registered by name), the output cache and the stopping rule; the records they share are in
evaluator/core/records.py."""
