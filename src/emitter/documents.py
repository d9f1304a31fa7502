"""Prose rendered from the IR: POST-SETUP.md and its topology diagram.

Jinja renders prose only; the YAML the targets emit is always built as data.
"""

from __future__ import annotations

from dataclasses import dataclass

from emitter.ir import Stack
from emitter.spec import NodeRole, TransportName

# A replicated tier this large is drawn as one box; a diagram of 1000 spokes helps nobody.
MAX_DRAWN_REPLICAS = 4


@dataclass(frozen=True)
class _Box:
    key: str
    label: str


def topology_mermaid(stack: Stack) -> str:
    """A Mermaid flowchart of the gateways and their Gateway Network links."""
    boxes: dict[str, _Box] = {}
    lines = ["flowchart LR"]
    for tier in stack.tiers:
        if tier.replicated and len(tier.gateways) > MAX_DRAWN_REPLICAS:
            first = stack.gateway(tier.gateways[0])
            assert first is not None
            box = _Box(
                f"tier_{len(boxes)}",
                f"{tier.gateways[0]} .. {tier.gateways[-1]}<br/>"
                f"{len(tier.gateways)} x {first.edition}",
            )
            for name in tier.gateways:
                boxes[name] = box
            lines.append(f'  {box.key}["{box.label}"]')
            continue
        for name in tier.gateways:
            gateway = stack.gateway(name)
            assert gateway is not None
            role = f" {gateway.redundancy.role}" if gateway.redundancy else ""
            box = _Box(f"g{len(boxes)}", f"{name}<br/>{gateway.edition}{role} :{gateway.http_port}")
            boxes[name] = box
            lines.append(f'  {box.key}["{box.label}"]')
    drawn: set[tuple[str, str, str]] = set()
    for gateway in stack.gateways:
        for link in gateway.connections:
            if link.target not in boxes:
                continue
            edge = (boxes[gateway.name].key, boxes[link.target].key, "gan")
            if edge not in drawn:
                drawn.add(edge)
                lines.append(f"  {edge[0]} -->|Gateway Network {link.port}| {edge[1]}")
        redundancy = gateway.redundancy
        if redundancy and redundancy.role is NodeRole.BACKUP and redundancy.peer in boxes:
            lines.append(
                f"  {boxes[gateway.name].key} -.->|redundancy {redundancy.port}| {boxes[redundancy.peer].key}"
            )
    return "\n".join(lines)


def post_setup(stack: Stack, targets: tuple[str, ...]) -> str:
    from emitter.templating import render  # Jinja is imported only when prose is rendered

    return render(
        "post-setup.md.j2",
        stack=stack,
        targets=targets,
        pairs=stack.pairs,
        plain=stack.transport is TransportName.PLAIN,
        topology=topology_mermaid(stack),
    )
