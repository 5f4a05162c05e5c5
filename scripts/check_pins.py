"""Exit non-zero unless every distribution in this Python's environment is pinned, at that version,
in the constraints file given as the first argument (and every pin is installed).

Run with a service venv's python by scripts/*/install.sh. Standard library only.
"""

import re
import sys
from importlib import metadata


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


pins = {}
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.split("#", 1)[0].strip()
    if line:
        name, _, version = line.partition("==")
        pins[norm(name)] = version.strip()
installed = {norm(d.metadata["Name"]): d.version for d in metadata.distributions()}
problems = [
    f"{name}=={version} (pinned: {pins.get(name, 'not pinned')})"
    for name, version in sorted(installed.items())
    if name not in {"pip", "setuptools", "wheel"} and pins.get(name) != version
]
problems += [f"{name} missing" for name in sorted(set(pins) - set(installed))]
if problems:
    sys.exit("installed set differs from " + sys.argv[1] + ":\n  " + "\n  ".join(problems))
