"""Issue criterion 7: garbage, truncated and oversized frames close only that
connection, with a log line, and the controller keeps serving; a bad config
key stops start-up with one line naming the key."""
import os
import socket
import struct
import subprocess
import tempfile
import time

from harness import BROKER_BIN, CONTROLLER_BIN, Cluster, check, log, wait_until


def closed_by_peer(sock, timeout=5):
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def bad_config(binary, text, key):
    with tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False) as f:
        f.write(text)
    p = subprocess.run([binary, f.name], capture_output=True, text=True, timeout=10)
    os.unlink(f.name)
    lines = p.stderr.strip().splitlines()
    check(p.returncode == 2, f"{binary} exited {p.returncode} for bad config ({key})")
    check(len(lines) == 1 and key in lines[0], f"expected one line naming {key}: {p.stderr!r}")
    log(f"bad config rejected: {lines[0]}")


base = ("node.id=1\nprocess.roles=controller\nlisteners=CONTROLLER://127.0.0.1:1\n"
        "controller.quorum.voters=1@127.0.0.1:1\nmetadata.log.dir=/tmp/never-created\n")
bad_config(CONTROLLER_BIN, base + "no.such.key=1\n", "no.such.key")
bad_config(CONTROLLER_BIN, base + "broker.session.timeout.ms=soon\n", "broker.session.timeout.ms")
bad_config(CONTROLLER_BIN, base.replace("metadata.log.dir=/tmp/never-created\n", ""), "metadata.log.dir")
bad_config(CONTROLLER_BIN, base.replace("1@127.0.0.1:1", "one@nowhere"), "controller.quorum.voters")
bad_config(CONTROLLER_BIN, base.replace("node.id=1", "node.id=4"), "node.id")
bad_config(BROKER_BIN, "node.id=1\nlisteners=PLAINTEXT://127.0.0.1:1\nlog.dirs=/tmp/x\n"
           "controller.quorum.voters=1@127.0.0.1:1\nbroker.heartbeat.interval.ms=often\n",
           "broker.heartbeat.interval.ms")

with Cluster(name="badinput") as c:
    c.up()
    port = c.base_port + 100 + c.leader() - 1
    cases = {
        "garbage": os.urandom(4096),
        "2 GiB frame": struct.pack(">I", 2 << 30) + b"\0" * 16,
        "oversized frame": struct.pack(">II", 0x7FFFFFFF, 8) + b"x" * 64,
        "header longer than frame": struct.pack(">II", 8, 100) + b"\0" * 4,
        "header not protobuf": struct.pack(">II", 12, 8) + b"\xff" * 8,
    }
    leader_log = c.log_path("controller", c.leader())
    for name, payload in cases.items():
        s = socket.create_connection(("127.0.0.1", port))
        local = "127.0.0.1:%d" % s.getsockname()[1]
        s.sendall(payload)
        check(closed_by_peer(s), f"connection not closed after {name}")
        s.close()
        # One log line names the peer and the reason.
        line = wait_until(lambda: next((l for l in open(leader_log)
                                        if f"closing connection from {local}" in l), None),
                          5, f"a log line for {name}")
        log(f"{name}: connection closed; logged: {line.strip()}")
    # Truncated frame: announce 100 bytes, send 10, hang up; the controller
    # must just drop it.
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(struct.pack(">I", 100) + b"\0" * 10)
    s.close()
    # Everyone else is still served, on every controller.
    c.create_topic("still-serving")
    check("still-serving" in c.topics(), "controller stopped serving")
    for i in (1, 2, 3):
        check(c.pids()[("controller", i)] is not None, f"controller {i} died")
    log("ok")
