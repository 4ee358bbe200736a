"""Helpers shared by the compat tests: the integration harness, and kcat."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import Cluster, check, fail, log, wait_until  # noqa: E402,F401

KCAT = shutil.which("kcat") or shutil.which("kafkacat")


def kcat(*args, input_bytes=None, timeout=300, check_rc=True):
    if not KCAT:
        fail("kcat is not installed (deploy/install-deps.sh --tests installs it)")
    p = subprocess.run([KCAT, *args], input=input_bytes, capture_output=True, timeout=timeout)
    if check_rc and p.returncode != 0:
        fail(f"kcat {' '.join(args)} exited {p.returncode}: {p.stderr.decode(errors='replace')[-2000:]}")
    return p


def kcat_metadata(bootstrap):
    return json.loads(kcat("-b", bootstrap, "-L", "-J").stdout)
