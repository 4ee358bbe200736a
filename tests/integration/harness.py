"""Test harness: a real local cluster (deploy/cluster.sh) in a temporary
directory on its own ports, driven through cairnctl and signals.

Environment (set by meson): CAIRN_BUILD_DIR, CAIRN_SOURCE_DIR.
"""
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SOURCE_DIR = os.environ.get("CAIRN_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(
                                os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("CAIRN_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
CLUSTER_SH = os.path.join(SOURCE_DIR, "deploy", "cluster.sh")
CAIRNCTL = os.path.join(BUILD_DIR, "controller", "ctl", "cairnctl")
CONTROLLER_BIN = os.path.join(BUILD_DIR, "controller", "cairn-controller")
BROKER_BIN = os.path.join(BUILD_DIR, "broker", "cairn-broker")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def fail(msg):
    log("FAIL: " + msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def ephemeral_low():
    """The first port the kernel hands out to outgoing connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def pick_base_port(nodes):
    """A base port whose broker and controller ports are all free. Below the
    ephemeral range, so that while a node is down no outgoing connection can
    take its port (restarts would fail with 'Address already in use')."""
    rng = random.Random(os.getpid() ^ int(time.time() * 1000))
    high = min(40000, ephemeral_low()) - 300
    low = min(20000, high - 1000)
    for _ in range(200):
        base = rng.randrange(low, high)
        ports = ([base + i for i in range(nodes)] + [base + 100 + i for i in range(nodes)]
                 + [base + 200 + i for i in range(nodes)])
        if all(port_free(p) for p in ports):
            return base
    raise RuntimeError("no free ports")


def wait_until(pred, timeout_s, what, interval_s=0.05, on_timeout=None):
    """Polls pred until it returns a truthy value; fails the test on timeout
    (after calling on_timeout, e.g. to print a history)."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # a poll may race with a restart
            last = e
        time.sleep(interval_s)
    if on_timeout:
        on_timeout()
    fail(f"timed out after {timeout_s}s waiting for {what} (last: {last!r})")


class Cluster:
    def __init__(self, nodes=3, name="cluster", keep=False, broker_config=None,
                 controller_config=None):
        self.nodes = nodes
        self.home = tempfile.mkdtemp(prefix=f"cairn-{name}-")
        self.base_port = pick_base_port(nodes)
        self.keep = keep or os.environ.get("CAIRN_KEEP") == "1"
        self.env = dict(os.environ)
        self.env.update({
            "CAIRN_HOME": self.home,
            "CAIRN_BASE_PORT": str(self.base_port),
            "CAIRN_SKIP_BUILD": "1",
            "CAIRN_BUILD_DIR": BUILD_DIR,
        })
        self.env["CAIRN_CONTROLLERS"] = ",".join(
            f"127.0.0.1:{self.base_port + 100 + i}" for i in range(nodes))
        self.bootstrap = ",".join(f"127.0.0.1:{self.base_port + i}" for i in range(nodes))
        self.env["CAIRN_BOOTSTRAP"] = self.bootstrap
        for var, cfg in (("CAIRN_BROKER_CONFIG", broker_config),
                         ("CAIRN_CONTROLLER_CONFIG", controller_config)):
            if cfg:
                self.env[var] = ";".join(f"{k}={v}" for k, v in cfg.items())
            else:
                self.env.pop(var, None)

    def broker_port(self, node_id):
        return self.base_port + node_id - 1

    def leader_of(self, topic, partition=0, timeout_ms=10000):
        """Broker id leading topic/partition, from the controllers."""
        for p in self.describe(topic, timeout_ms=timeout_ms)["partitions"]:
            if p["partition"] == partition:
                return p["leader"]
        return None

    def wait_leaders(self, topic, timeout_s=20):
        """Waits until every partition of topic has a leader on an active broker."""
        def ok():
            parts = self.describe(topic)["partitions"]
            return parts and all(p["leader"] > 0 for p in parts)
        wait_until(ok, timeout_s, f"leaders for {topic}")

    # -- process control -------------------------------------------------
    def script(self, *args, check_rc=True, timeout=90):
        p = subprocess.run([CLUSTER_SH, *args], env=self.env, capture_output=True,
                           text=True, timeout=timeout)
        if check_rc and p.returncode != 0:
            fail(f"cluster.sh {' '.join(args)} exited {p.returncode}\n"
                 f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}\n{self.logs_tail()}")
        return p

    def up(self):
        return self.script("up", "--nodes", str(self.nodes))

    def down(self):
        self.script("down", check_rc=False)
        reports = self.sanitizer_reports()
        if reports:
            self.keep = True
            fail("sanitizer reports in the cluster's logs (an ASan/UBSan build found a "
                 "memory or undefined-behaviour error):\n" + "\n".join(reports))
        if not self.keep:
            shutil.rmtree(self.home, ignore_errors=True)
        else:
            log(f"kept cluster data in {self.home}")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            log(self.logs_tail())
        self.down()
        return False

    def signal(self, action, role, node_id):
        self.script(action, role, str(node_id))

    def pids(self):
        out = self.script("pids").stdout
        res = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3:
                res[(parts[0], int(parts[1]))] = None if parts[2] == "-" else int(parts[2])
        return res

    def node_dir(self, role, node_id):
        return os.path.join(self.home, f"{role}-{node_id}")

    def log_path(self, role, node_id):
        return os.path.join(self.node_dir(role, node_id), "server.log")

    SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", ": runtime error: ")

    def sanitizer_reports(self, context=25):
        """Excerpts of every sanitizer report in the processes' logs (only
        sanitizer builds print them; a stopped process prints its leaks)."""
        out = []
        for role in ("controller", "broker"):
            for i in range(1, self.nodes + 1):
                path = self.log_path(role, i)
                if not os.path.exists(path):
                    continue
                with open(path, errors="replace") as f:
                    lines = f.readlines()
                for k, line in enumerate(lines):
                    if any(m in line for m in self.SANITIZER_MARKS):
                        out.append(f"--- {role}-{i} ({path}) ---\n" +
                                   "".join(lines[k:k + context]))
                        break
        return out

    def logs_tail(self, lines=15):
        out = []
        for role in ("controller", "broker"):
            for i in range(1, self.nodes + 1):
                path = self.log_path(role, i)
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        tail = f.readlines()[-lines:]
                    out.append(f"--- {role}-{i} ---\n" + "".join(tail))
        return "\n".join(out)

    # -- cairnctl --------------------------------------------------------
    def ctl(self, *args, timeout_ms=10000, check_rc=True):
        p = subprocess.run([CAIRNCTL, "--timeout", str(timeout_ms), *args], env=self.env,
                           capture_output=True, text=True, timeout=timeout_ms / 1000 + 30)
        if check_rc and p.returncode != 0:
            fail(f"cairnctl {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
        return p

    def ctl_json(self, *args, timeout_ms=10000):
        p = self.ctl(*args, "--json", timeout_ms=timeout_ms)
        return json.loads(p.stdout)

    def status(self, timeout_ms=10000):
        return self.ctl_json("cluster", "status", timeout_ms=timeout_ms)

    def leader(self):
        return self.status()["controller"]["leader"]

    def broker_states(self):
        return {b["id"]: b["state"] for b in self.status()["brokers"]}

    def wait_ready(self, timeout_s=30):
        def ready():
            st = self.status(timeout_ms=2000)
            leaders = [v for v in st["controller"]["voters"] if v["role"] == "leader"]
            active = [b for b in st["brokers"] if b["state"] == "active"]
            return st if len(leaders) == 1 and len(active) == self.nodes else None
        return wait_until(ready, timeout_s, "a leader and all brokers active")

    def describe(self, topic, timeout_ms=10000):
        return self.ctl_json("topic", "describe", topic, timeout_ms=timeout_ms)

    def create_topic(self, name, partitions=1, rf=1, check_rc=True, timeout_ms=10000):
        return self.ctl("topic", "create", name, "--partitions", str(partitions),
                        "--replication-factor", str(rf), check_rc=check_rc,
                        timeout_ms=timeout_ms)

    def topics(self):
        return {t["name"] for t in self.ctl_json("topic", "list")["topics"]}
