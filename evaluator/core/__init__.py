"""The lowest layer: records, names, errors, files, parsing, redaction, statistics and the metric vocabulary.
Nothing here imports from any other layer of taskeval (docs/development.md, "Layers")."""
