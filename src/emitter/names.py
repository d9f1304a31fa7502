"""The patterns every name of a stack must match.

The names a target derives from gateway names (a suffixed service, a volume per gateway) are
in that target's record (``registry.NameLimits``); ``rules/names.py`` keeps them free, so every
target can use them without checking again.
"""

from __future__ import annotations

import re

# DNS-1035 label (it starts with a letter): what a target that names objects after gateways
# may need; ``rules/names.py`` asks the targets whether one does. DNS-1123 label: everything else.
GATEWAY_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# A DNS-1123 label's own limit: a gateway name's when no target sets a lower one.
DNS_LABEL_LENGTH = 63
