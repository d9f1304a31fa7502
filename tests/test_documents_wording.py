"""The gateway web UI paths the documents send a user to are Ignition 8.3's, the pinned image's
release: POST-SETUP.md for every shape on both transports, the README and docs/.

Each path is listed with the page of the 8.3 manual it was checked against; a path not listed
fails, and so does any of 8.1's "Config" menus, which 8.3 no longer has.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from .conftest import Result
from .test_walkthroughs import SHAPES

Cli = Callable[..., Result]
ROOT = Path(__file__).parent.parent


# 8.1's menus, which 8.3 replaced (IA manual 8.3: "Platform > System > Redundancy", and the
# Gateway Network under "Network > Gateway Network").
OLD_MENUS = re.compile(
    r"\bConfig(?:ure)?\s*(?:→|->|>|\u203a)\s*(?:System|Networking|Network|Security)\b"
    r"|\bStatus\s*(?:→|->|>|\u203a)\s*Redundancy\b"
)
# A bold menu path, possibly wrapped over lines: **Platform → System → Redundancy**.
BOLD_PATH = re.compile(r"\*\*([A-Za-z][A-Za-z \n]*(?:(?:→|->|>)\s*[A-Za-z][A-Za-z \n]*)+)\*\*")
# Every gateway web UI path the documents send a user to, each checked against the 8.3 manual.
KNOWN_83_PATHS = {
    # docs.inductiveautomation.com/docs/8.3/platform/ignition-redundancy
    "Platform → System → Redundancy",
    # docs.inductiveautomation.com/docs/8.3/platform/gateway-network/gateway-network-certificates-and-ssl
    "Network → Gateway Network → Connections → Incoming Connections",
}


def _documents(cli: Cli, tmp_path: Path) -> dict[str, str]:
    """POST-SETUP.md for every shape on both targets, the README and docs/."""
    texts = {
        path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
        for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    }
    for shape, arguments in SHAPES.items():
        for transport in ("plain", "ssl"):
            name = f"{shape}-{transport}"
            flags = [*arguments, "--transport", transport, "--target", "all"]
            result = cli("create", name, *flags, "-o", str(tmp_path))
            assert result.exit_code == 0, result.stderr
            texts[f"POST-SETUP.md ({name})"] = (tmp_path / name / "POST-SETUP.md").read_text()
    return texts


def test_documents_use_ignition_8_3_menus(cli: Cli, tmp_path: Path) -> None:
    for name, text in _documents(cli, tmp_path).items():
        old = OLD_MENUS.findall(text)
        assert not old, f"{name} names Ignition 8.1 menus: {old}"
        for path in BOLD_PATH.findall(text):
            path = " ".join(path.split()).replace(" -> ", " → ").replace(" > ", " → ")
            assert path in KNOWN_83_PATHS, f"{name}: {path!r} is not checked against the 8.3 docs"


def test_the_old_menu_pattern_catches_8_1_paths() -> None:
    for text in ("Config -> System -> Redundancy", "**Config > Networking > Gateway Network**"):
        assert OLD_MENUS.search(text), text
    assert not OLD_MENUS.search("Platform → System → Redundancy")
