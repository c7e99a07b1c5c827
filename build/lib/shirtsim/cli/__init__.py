"""The command line: ``shirtsim COMMAND`` (``python -m shirtsim``)."""
