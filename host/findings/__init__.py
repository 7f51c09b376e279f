"""Findings after a workflow reports them: the durable store and its outbox, fan-out to sinks, the API's reads."""
