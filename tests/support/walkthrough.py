"""The shell commands a document hands the user (POST-SETUP.md, the README), read the way a
user reads them: fenced ``sh`` blocks run top to bottom, plus the commands quoted inline.

Used to check every namespace a command names against what the overlay it applies really
builds, and to run the Kubernetes blocks verbatim against the test cluster.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

FENCED_SH = re.compile(r"^```sh\n(.*?)^```$", re.DOTALL | re.MULTILINE)
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
# The stand-in the tests type where the walkthrough says to choose a password.
PLACEHOLDER = "<choose one>"


@dataclass(frozen=True)
class Command:
    line: str  # as written, comment included
    argv: tuple[str, ...]  # as the shell splits it, comment dropped

    @property
    def namespace(self) -> str | None:
        """The namespace a kubectl command names with ``-n`` / ``--namespace``."""
        argv = self.argv
        for index, word in enumerate(argv):
            if word in ("-n", "--namespace") and index + 1 < len(argv):
                return argv[index + 1]
            if word.startswith("--namespace="):
                return word.partition("=")[2]
        return None

    def kubectl(self, verb: str, flag: str) -> str | None:
        """The argument of ``flag`` in a ``kubectl <verb> ... <flag> X`` command."""
        if self.argv[:1] != ("kubectl",) or verb not in self.argv:
            return None
        if flag in self.argv:
            index = self.argv.index(flag)
            return self.argv[index + 1] if index + 1 < len(self.argv) else None
        return None

    @property
    def applied_overlay(self) -> str | None:
        return self.kubectl("apply", "-k")

    @property
    def applied_file(self) -> str | None:
        return self.kubectl("apply", "-f")

    @property
    def created_secret(self) -> str | None:
        argv = self.argv
        if argv[:1] == ("kubectl",) and "secret" in argv and "create" in argv:
            index = argv.index("secret")
            if argv[index + 1 : index + 2] == ("generic",) and index + 2 < len(argv):
                return argv[index + 2]
        return None


def parse(line: str) -> Command:
    return Command(line, tuple(shlex.split(line, comments=True)))


def blocks(markdown: str) -> list[list[Command]]:
    """Every fenced ``sh`` block, one command per non-blank line."""
    return [
        [parse(line) for line in body.splitlines() if line.strip() and not line.startswith("#")]
        for body in FENCED_SH.findall(markdown)
    ]


def kubernetes_blocks(markdown: str) -> list[list[Command]]:
    """The blocks that apply a kustomize overlay or base."""
    return [block for block in blocks(markdown) if any(c.applied_overlay for c in block)]


def inline_kubectl(markdown: str) -> list[Command]:
    """kubectl commands quoted inline in the prose (outside the fenced blocks)."""
    prose = FENCED_SH.sub("", markdown)
    return [parse(code) for code in INLINE.findall(prose) if code.startswith("kubectl ")]


def with_placeholder(argv: tuple[str, ...], secret: str) -> list[str]:
    """The command with the password the user would choose filled in."""
    return [word.replace(PLACEHOLDER, secret) for word in argv]
