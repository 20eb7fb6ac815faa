"""One module per reproduced paper: `run(config) -> Report`."""
