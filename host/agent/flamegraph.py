"""Reading py-spy's collapsed ("raw") stacks: top functions by sample share, and an SVG flamegraph.

py-spy writes either an SVG or the collapsed stacks, not both, from one recording; recording the
collapsed stacks and rendering the SVG here gives both from a single run on the target.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from html import escape

from host.agent.models import FunctionStat

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

WIDTH = 1200
ROW = 17
MIN_WIDTH_PX = 0.4
CHAR_PX = 7.0


@dataclass(frozen=True)
class Frame:
    function: str
    file: str | None
    line: int | None

    @property
    def label(self) -> str:
        if self.file is None:
            return self.function
        return (
            f"{self.function} ({self.file}:{self.line})"
            if self.line is not None
            else f"{self.function} ({self.file})"
        )


@dataclass
class Node:
    name: str
    value: int = 0
    children: dict[str, Node] = field(default_factory=dict)


def parse_frame(text: str) -> Frame:
    match = _FRAME.match(text)
    if match is None:
        return Frame(function=text, file=None, line=None)
    line = match.group("line")
    return Frame(function=match.group("function"), file=match.group("file"), line=int(line) if line else None)


def parse_collapsed(text: str) -> list[tuple[list[Frame], int]]:
    """Stacks (outermost frame first) with their sample counts."""
    stacks: list[tuple[list[Frame], int]] = []
    for raw in text.splitlines():
        stack_text, _, count_text = raw.rstrip().rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue
        stacks.append(([parse_frame(part) for part in stack_text.split(";")], int(count_text)))
    return stacks


def top_functions(stacks: list[tuple[list[Frame], int]], *, limit: int = 20) -> list[FunctionStat]:
    """Functions by self share (innermost frame), with their hottest line and inclusive share."""
    total = sum(count for _, count in stacks)
    self_by_fn: dict[tuple[str, str | None], int] = {}
    total_by_fn: dict[tuple[str, str | None], int] = {}
    lines: dict[tuple[str, str | None], dict[int | None, int]] = {}
    for frames, count in stacks:
        if not frames:
            continue
        leaf = frames[-1]
        key = (leaf.function, leaf.file)
        self_by_fn[key] = self_by_fn.get(key, 0) + count
        per_line = lines.setdefault(key, {})
        per_line[leaf.line] = per_line.get(leaf.line, 0) + count
        for fn_key in {(frame.function, frame.file) for frame in frames}:
            total_by_fn[fn_key] = total_by_fn.get(fn_key, 0) + count
    if total == 0:
        return []
    ranked = sorted(total_by_fn, key=lambda key: (self_by_fn.get(key, 0), total_by_fn[key]), reverse=True)
    result: list[FunctionStat] = []
    for key in ranked[:limit]:
        per_line = lines.get(key, {})
        hottest_line = max(per_line, key=lambda ln: per_line[ln]) if per_line else None
        self_samples = self_by_fn.get(key, 0)
        result.append(
            FunctionStat(
                function=key[0],
                file=key[1],
                line=hottest_line,
                self_samples=self_samples,
                self_share=round(self_samples / total, 4),
                total_samples=total_by_fn[key],
                total_share=round(total_by_fn[key] / total, 4),
            )
        )
    return result


def _tree(stacks: list[tuple[list[Frame], int]]) -> Node:
    root = Node(name="all")
    for frames, count in stacks:
        root.value += count
        node = root
        for frame in frames:
            node = node.children.setdefault(frame.label, Node(name=frame.label))
            node.value += count
    return root


def _color(name: str) -> str:
    digest = hashlib.blake2s(name.encode(), digest_size=3).digest()
    return f"rgb({205 + digest[0] % 50},{80 + digest[1] % 130},{digest[2] % 55})"


def render_svg(stacks: list[tuple[list[Frame], int]], *, title: str) -> str:
    """A self-contained SVG flamegraph (root at the bottom); hover a frame for its share."""
    root = _tree(stacks)
    rects: list[tuple[int, float, float, Node]] = []

    def place(node: Node, depth: int, x: float) -> None:
        width = WIDTH * node.value / root.value if root.value else 0.0
        if width < MIN_WIDTH_PX:
            return
        rects.append((depth, x, width, node))
        child_x = x
        for child in sorted(node.children.values(), key=lambda n: n.name):
            place(child, depth + 1, child_x)
            child_x += WIDTH * child.value / root.value

    place(root, 0, 0.0)
    depth_max = max((depth for depth, _, _, _ in rects), default=0)
    height = (depth_max + 1) * ROW + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="Verdana, sans-serif" font-size="11">',
        f'<rect width="100%" height="100%" fill="#f8f8f8"/><text x="{WIDTH / 2}" y="20" text-anchor="middle" '
        f'font-size="15">{escape(title)}</text>',
    ]
    for depth, x, width, node in rects:
        y = height - (depth + 1) * ROW
        share = 100.0 * node.value / root.value
        label = escape(f"{node.name} ({node.value} samples, {share:.2f}%)")
        fits = int((width - 6) / CHAR_PX)
        text = node.name if len(node.name) <= fits else (node.name[: fits - 2] + ".." if fits > 3 else "")
        parts.append(
            f'<g><title>{label}</title><rect x="{x:.2f}" y="{y}" width="{width:.2f}" height="{ROW - 1}" '
            f'fill="{_color(node.name)}" rx="2"/>'
            + (f'<text x="{x + 3:.2f}" y="{y + ROW - 5}">{escape(text)}</text>' if text else "")
            + "</g>"
        )
    parts.append("</svg>")
    return "\n".join(parts)
