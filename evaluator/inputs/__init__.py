"""What a run reads, checked at its boundary: the configuration (and its schema), the registries users extend,
the benchmark and the baseline. Imports only `core`."""
