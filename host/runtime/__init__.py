"""The runtime: loading a workflow into a pool, invoking it, dispatching events to it."""
