"""Code the agent runs *inside* the target interpreter through gdb (see `host.agent.inject`).

Each module is read as text and executed in the target with fresh globals; its `main(work_dir)`
reads `params.json` and writes JSON files there. They must not import anything but the standard
library (plus memray/debugpy where said), must run on Python 3.8+, and must never print: the
target's stdout and stderr belong to the application.
"""
