"""One module per agent action; each exposes `run(...)` returning its result model."""
