"""Artifacts (flamegraphs): embedded in the JSON reply as base64, or written under `--out DIR`."""

from __future__ import annotations

import base64
from pathlib import Path

from host.agent.errors import BadArgument
from host.agent.models import Artifact


class ArtifactSink:
    """Where an action's files go: into the reply (default) or into a directory."""

    def __init__(self, out_dir: Path | None) -> None:
        self.out_dir = out_dir
        if out_dir is not None:
            try:
                out_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise BadArgument(f"--out {out_dir} cannot be created: {exc.strerror}") from exc

    def add(self, name: str, media_type: str, data: bytes) -> Artifact:
        """Store one file and describe it for the reply."""
        if self.out_dir is None:
            return Artifact(
                name=name,
                media_type=media_type,
                size_bytes=len(data),
                encoding="base64",
                data=base64.b64encode(data).decode("ascii"),
            )
        path = (self.out_dir / name).resolve()
        path.write_bytes(data)
        return Artifact(name=name, media_type=media_type, size_bytes=len(data), path=str(path))
