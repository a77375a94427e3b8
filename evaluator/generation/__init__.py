"""Generation backends (registered by name) and their shared output type, cache and stopping rule."""
