"""The stages of a run — automated metrics, the judge, safety, latency, the comparison with production, stopping
early, the gates — and their typed results. Imports `core`, `inputs` and `generation`."""
