"""What can be checked of the Dockerfile without a Docker daemon (scripts/check-deploy):
every binary it copies is a binary target of the workspace, and every binary the chart,
the systemd units and the migration Job start is one it copies."""
import json
import re
import subprocess
import sys
from pathlib import Path

dockerfile = Path("Dockerfile").read_text()
copied = set(re.findall(r"target/release/([a-z0-9-]+)", dockerfile))
metadata = json.loads(subprocess.run(
    ["cargo", "metadata", "--format-version", "1", "--no-deps", "--locked"],
    check=True, capture_output=True, text=True).stdout)
bins = {t["name"] for p in metadata["packages"] for t in p["targets"] if "bin" in t["kind"]}
started = set()
for path in list(Path("helm/mutt/templates").glob("*")) + list(Path("deploy/systemd").glob("*.service")):
    started |= set(re.findall(r"/usr/local/bin/([a-z0-9-]+)", path.read_text()))
problems = []
if not copied:
    problems.append("the Dockerfile copies no target/release binary")
if copied - bins:
    problems.append(f"the Dockerfile copies {sorted(copied - bins)}, which the workspace does not build")
if started - copied:
    problems.append(f"the chart or the units start {sorted(started - copied)}, which the image lacks")
if "USER 10001" not in dockerfile:
    problems.append("the image does not run as uid 10001 (the chart's runAsUser)")
if problems:
    print("check-deploy: Dockerfile:", *problems, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"check-deploy: the image holds {sorted(copied)}; the chart and units start {sorted(started)}")
