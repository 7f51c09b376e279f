"""Findings after a workflow reports them: fan-out to sinks, and the recent ones kept for the API."""
