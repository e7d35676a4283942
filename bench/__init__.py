"""The flowruns benchmark: real servers on loopback under load from ``wrk`` (``make bench``)."""
