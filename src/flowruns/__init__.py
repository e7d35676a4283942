"""flowruns: record and inspect data-flow runs through a Graph industryData-compatible API."""

__version__ = "0.1.0"
