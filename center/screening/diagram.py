"""Lay out the proposal workflow as a diagram, generated from `workflow.TRANSITIONS`.

Pure computation, no drawing library: states become boxes on a grid and transitions become
right-angled paths; ``templates/screening/workflow.html`` turns the result into inline SVG.

The layout: each state's row is its distance in transitions from the first state; the
longest chain of states one row apart runs down the first column, the other states sit to
the right in their row. A transition leaving from many states at once (``withdraw``) is drawn
as a bar down the left edge that each of its states points into, instead of a fan of lines
across the grid.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from center.proposals import workflow
from center.proposals.models import DECIDED_STATES, ProposalStatus, status_label

BOX_W, BOX_H = 170, 38
ROW_PITCH, COL_PITCH = 74, 225
LEFT, TOP = 130, 24
BAR_X, BAR_W = 18, 30
#: A transition with at least this many source states is drawn as a bar.
FAN_IN = 4
#: Good and bad ends, coloured like the status badges.
GOOD_ENDS = frozenset({ProposalStatus.approved, ProposalStatus.agreement_issued,
                       ProposalStatus.active, ProposalStatus.closed})


@dataclass
class Node:
    state: str
    label: str
    row: int
    col: int
    tone: str
    x: int = 0
    y: int = 0
    w: int = BOX_W
    h: int = BOX_H

    @property
    def cx(self) -> int:
        return self.x + self.w // 2

    @property
    def cy(self) -> int:
        return self.y + self.h // 2


@dataclass
class Edge:
    name: str
    label: str
    source: str
    target: str
    points: list[tuple[int, int]]
    label_at: tuple[int, int] | None
    roles: list[str]
    into_bar: bool = False
    #: SVG text-anchor of the label: ``start`` (right of the point) or ``end`` (left of it).
    anchor: str = "start"

    @property
    def d(self) -> str:
        return " ".join(("M" if i == 0 else "L") + f" {x} {y}"
                        for i, (x, y) in enumerate(self.points))


@dataclass
class Diagram:
    width: int
    height: int
    nodes: list[Node]
    edges: list[Edge]
    bars: list[dict[str, Any]] = field(default_factory=list)


def _tone(state: ProposalStatus) -> str:
    if state in GOOD_ENDS:
        return "good"
    if state in DECIDED_STATES:
        return "bad"
    if state == ProposalStatus.changes_requested:
        return "warn"
    return "flow"


def layout(transitions: dict[str, workflow.Transition] | None = None) -> Diagram:
    """Place every state and transition of ``transitions`` (the workflow's by default)."""
    transitions = transitions if transitions is not None else workflow.TRANSITIONS
    order = list(ProposalStatus)
    fans = {t.name for t in transitions.values() if len(t.sources) >= FAN_IN}
    bar_states = {transitions[name].target for name in fans}
    edges = [(s, t.target, t) for t in transitions.values() if t.name not in fans
             for s in sorted(t.sources, key=order.index)]
    states = sorted({s for s, _, _ in edges} | {t for _, t, _ in edges}
                    | {s for name in fans for s in transitions[name].sources}, key=order.index)
    states = [s for s in states if s not in bar_states]
    targets = {t for _, t, _ in edges}
    start = next((s for s in states if s not in targets), states[0])

    level = {start: 0}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        for s, t, _ in edges:
            if s == state and t not in level and t not in bar_states:
                level[t] = level[state] + 1
                queue.append(t)
    for state in states:  # unreachable from the start: put them after the rest
        level.setdefault(state, max(level.values()) + 1)

    chain_cache: dict[ProposalStatus, list[ProposalStatus]] = {}

    def chain(state: ProposalStatus) -> list[ProposalStatus]:
        if state not in chain_cache:
            nexts = sorted({t for s, t, _ in edges if s == state and t in level
                            and level[t] == level[state] + 1}, key=order.index)
            best = max((chain(n) for n in nexts), key=len, default=[])
            chain_cache[state] = [state, *best]
        return chain_cache[state]

    main = set(chain(start))
    taken: dict[int, int] = {}
    nodes: dict[str, Node] = {}
    for state in sorted(states, key=lambda s: (s not in main, order.index(s))):
        row = level[state]
        col = 0 if state in main else max(1, taken.get(row, 0))
        taken[row] = col + 1
        node = Node(str(state), status_label(state), row, col, _tone(state))
        node.x = LEFT + col * COL_PITCH
        node.y = TOP + row * ROW_PITCH
        nodes[str(state)] = node

    drawn = [_route(nodes[str(s)], nodes[str(t)], tr) for s, t, tr in edges]
    bars = []
    bar_edges = []
    for name in sorted(fans):
        t = transitions[name]
        sources = [nodes[str(s)] for s in t.sources if str(s) in nodes]
        if not sources:
            continue
        top = min(n.cy for n in sources) - 16
        bottom = max(n.cy for n in sources) + 16
        bars.append({"name": name, "label": t.label, "target": str(t.target),
                     "target_label": status_label(t.target), "x": BAR_X, "y": top,
                     "w": BAR_W, "h": bottom - top, "roles": sorted(t.roles),
                     "text_x": BAR_X + BAR_W // 2 + 4, "text_y": (top + bottom) // 2})
        for node in sorted(sources, key=lambda n: (n.row, n.col)):
            if node.col == 0:
                points = [(node.x, node.cy), (BAR_X + BAR_W, node.cy)]
            else:  # low in the gap below, under the labels and the lines going right
                gap = node.y + node.h + (ROW_PITCH - BOX_H) - 10
                points = [(node.cx - 30, node.y + node.h), (node.cx - 30, gap),
                          (BAR_X + BAR_W, gap)]
            bar_edges.append(Edge(name, t.label, node.state, str(t.target), points, None,
                                  sorted(t.roles), into_bar=True))
    rows = max(n.row for n in nodes.values()) + 1
    cols = max(n.col for n in nodes.values()) + 1
    return Diagram(width=LEFT + cols * COL_PITCH, height=TOP * 2 + rows * ROW_PITCH - 20,
                   nodes=sorted(nodes.values(), key=lambda n: (n.row, n.col)),
                   edges=drawn + bar_edges, bars=bars)


def _route(a: Node, b: Node, t: workflow.Transition) -> Edge:
    """A right-angled path from box ``a`` to box ``b`` that runs between the boxes.

    In the gap between two rows, the label of the straight edge sits left of its line, the
    edges to states further right run high in the gap and drop onto their target (label
    beside the drop), and edges into the bar run low in it.
    """
    gap = ROW_PITCH - BOX_H
    if a.col == b.col and b.row == a.row + 1:
        points = [(a.cx, a.y + a.h), (b.cx, b.y)]
        return Edge(t.name, t.label, a.state, b.state, points, (a.cx - 6, a.y + a.h + 16),
                    sorted(t.roles), anchor="end")
    if b.row == a.row + 1 and b.col > a.col:
        high = b.y - gap + 10
        points = [(a.cx + 30, a.y + a.h), (a.cx + 30, high), (b.cx, high), (b.cx, b.y)]
        label = (b.cx + 6, b.y - 4)
    elif b.row >= a.row and b.col > a.col:
        channel = b.x - 24
        points = [(a.x + a.w, a.cy), (channel, a.cy), (channel, b.cy), (b.x, b.cy)]
        label = (a.x + a.w + 4, a.cy - 6)
    elif b.row < a.row:  # back up, in the channel right of the source's column
        channel = a.x + a.w + 24
        points = [(a.x + a.w, a.cy), (channel, a.cy), (channel, b.cy), (b.x + b.w, b.cy)]
        label = (channel + 4, (a.cy + b.cy) // 2 + 4)
    else:
        low = a.y + a.h + gap // 2
        points = [(a.cx, a.y + a.h), (a.cx, low), (b.cx, low), (b.cx, b.y)]
        label = (b.cx + 6, low - 4)
    return Edge(t.name, t.label, a.state, b.state, points, label, sorted(t.roles))
