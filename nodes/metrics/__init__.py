"""Metrics: the collector's samples of every instance and node, their consolidated history,
graphs, diagnostics and the Prometheus endpoint."""
