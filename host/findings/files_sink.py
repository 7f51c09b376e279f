"""The `files` sink: one folder per finding, `finding.json` plus each attachment as a file."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

from host.model.findings import Finding


def finding_folder_name(finding: Finding) -> str:
    return f"{finding.workflow}-{finding.id}"


def write_finding(directory: Path, finding: Finding) -> Path:
    """Write atomically (temp folder, then rename) so a reader never sees half a finding."""
    final = directory / finding_folder_name(finding)
    tmp = directory / f".{final.name}.tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        for att in finding.attachments:
            (tmp / att.name).write_bytes(att.data)
        # ASCII escapes: valid JSON even for text the guest sent with lone surrogates.
        doc = finding.summary()
        (tmp / "finding.json").write_text(json.dumps(doc, indent=2, ensure_ascii=True) + "\n", encoding="ascii")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


class FilesSink:
    name = "files"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def deliver(self, finding: Finding) -> None:
        await asyncio.to_thread(write_finding, self.directory, finding)
