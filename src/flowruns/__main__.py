"""``python -m flowruns`` runs the flowruns command."""

from flowruns.cli import main

main()
