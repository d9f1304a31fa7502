"""The words of a stack file that the command line offers as choices too.

Kept apart from ``spec.py`` so that ``cli.py`` can offer them without importing pydantic:
``--help`` and ``--version`` stay instant.
"""

from enum import StrEnum


class ArchitectureName(StrEnum):
    BASIC = "basic"
    SCALE_OUT = "scale-out"
    HUB_AND_SPOKE = "hub-and-spoke"


class Edition(StrEnum):
    STANDARD = "standard"
    EDGE = "edge"


class TransportName(StrEnum):
    PLAIN = "plain"
    SSL = "ssl"


class NodeRole(StrEnum):
    MASTER = "master"
    BACKUP = "backup"
