#!/usr/bin/env python3
"""Cluster benchmarks for BENCHMARKS.md ("Cluster"): aggregate ingest with 1, 2 and 3
`serve` nodes on PostgreSQL and NATS JetStream, next to one node on SQLite; and the failover
time from a SIGKILL to the dead node's partitions committing again on the others.

Everything runs on loopback and stops by itself: a throwaway PostgreSQL cluster (initdb in a
temporary directory, run as the postgres user when this runs as root) and nats-server with
JetStream, both from their Debian packages, the release `modelwatch` and the `load` example.

    cargo build --release -p modelwatch --example load --bin modelwatch
    python3 tools/cluster_bench.py ingest --nodes 1 2 3 --requests 200
    python3 tools/cluster_bench.py sqlite --requests 200
    python3 tools/cluster_bench.py failover --runs 3
"""

import argparse
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELWATCH = os.path.join(ROOT, "target/release/modelwatch")
LOAD = os.path.join(ROOT, "target/release/examples/load")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin(name):
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        sys.exit(f"{name} not found: apt-get install postgresql")
    return candidates[-1]


class Servers:
    """PostgreSQL and NATS on loopback, in a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mw-cluster-bench-")
        os.chmod(self.dir, 0o755)
        self.as_postgres = []
        if os.geteuid() == 0:
            self.as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups"]
        data = os.path.join(self.dir, "pg")
        os.mkdir(data)
        if self.as_postgres:
            shutil.chown(data, "postgres", "postgres")
        subprocess.run(self.as_postgres + [postgres_bin("initdb"), "-D", data, "-U", "postgres",
                                           "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"],
                       check=True, stdout=subprocess.DEVNULL)
        self.pg_port = free_port()
        self.pg = subprocess.Popen(self.as_postgres + [
            postgres_bin("postgres"), "-D", data, "-p", str(self.pg_port), "-k", data,
            "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.nats_port = free_port()
        self.nats = subprocess.Popen(["nats-server", "-js", "-a", "127.0.0.1", "-p", str(self.nats_port),
                                      "-sd", os.path.join(self.dir, "js")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            if self.sql("SELECT 1", db="postgres", check=False) == "1":
                break
            time.sleep(0.05)
        self.sql("CREATE DATABASE mw", db="postgres")
        self.url = f"postgres://postgres@127.0.0.1:{self.pg_port}/mw"
        self.log = f"nats://127.0.0.1:{self.nats_port}"

    def sql(self, query, db="mw", check=True):
        done = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres",
                               "-d", db, "-Atc", query], capture_output=True, text=True)
        if check and done.returncode != 0:
            raise RuntimeError(done.stderr)
        return done.stdout.strip()

    def stop(self):
        for process in (self.pg, self.nats):
            process.send_signal(signal.SIGINT)
            process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_node(servers, node_id, partitions, lease_ttl="5s"):
    port = free_port()
    process = subprocess.Popen(
        [MODELWATCH, "serve", "--listen", f"127.0.0.1:{port}", "--store", servers.url,
         "--log", servers.log, "--node-id", node_id, "--partitions", str(partitions),
         "--lease-ttl", lease_ttl, "--retention", "off", "--max-future", "off"],
        stdout=subprocess.PIPE, stderr=open(os.path.join(servers.dir, f"{node_id}.log"), "w"), text=True)
    for line in process.stdout:
        if line.startswith("ready:"):
            break
    return process, f"127.0.0.1:{port}"


def settle(servers, nodes, partitions):
    """Waits until every partition is leased and each node holds its share."""
    expected = sorted(partitions // nodes + (1 if rank < partitions % nodes else 0) for rank in range(nodes))
    for _ in range(2000):
        rows = servers.sql(
            "SELECT count(*) FROM leases WHERE expires_at > "
            "(extract(epoch FROM clock_timestamp()) * 1000)::BIGINT GROUP BY owner")
        counts = sorted(int(x) for x in rows.split()) if rows else []
        if counts == expected:
            return
        time.sleep(0.05)
    sys.exit(f"leases did not settle: {counts} against {expected}")


def load(addr, requests, connections, start, events):
    return subprocess.Popen([LOAD, "batch", "--addr", addr, "--connections", str(connections),
                             "--events", str(events), "--requests", str(requests),
                             "--duration", "300", "--start", start],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def throughput(output):
    match = re.search(r"throughput: ([0-9.]+) metric values/s", output)
    return float(match.group(1)) if match else 0.0


def ingest(args):
    for nodes in args.nodes:
        servers = Servers()
        try:
            processes = [start_node(servers, f"n{i}", args.partitions) for i in range(nodes)]
            settle(servers, nodes, args.partitions)
            begin = time.monotonic()
            loads = [load(addr, args.requests, args.connections, f"2026-11-{23 - i:02}T00:00:00Z", args.events)
                     for i, (_, addr) in enumerate(processes)]
            outputs = [p.communicate()[0] for p in loads]
            acked_at = time.monotonic() - begin
            total_events = nodes * args.requests * args.events
            while int(servers.sql("SELECT count(*) FROM inputs")) < total_events:
                time.sleep(0.05)
            committed_at = time.monotonic() - begin
            values = total_events * 5
            print(f"nodes={nodes} partitions={args.partitions} events={total_events} "
                  f"acknowledged={sum(throughput(o) for o in outputs):,.0f} values/s (sum of the generators) "
                  f"committed={values / committed_at:,.0f} values/s "
                  f"(all acknowledged after {acked_at:.1f} s, all committed after {committed_at:.1f} s)",
                  flush=True)
            for process, _ in processes:
                process.send_signal(signal.SIGTERM)
                process.wait()
        finally:
            servers.stop()


def sqlite(args):
    data = tempfile.mkdtemp(prefix="mw-sqlite-bench-")
    port = free_port()
    process = subprocess.Popen([MODELWATCH, "serve", "--data", data, "--listen", f"127.0.0.1:{port}",
                                "--retention", "off", "--max-future", "off"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        if line.startswith("ready:"):
            break
    output = load(f"127.0.0.1:{port}", args.requests, args.connections, "2026-11-23T00:00:00Z",
                  args.events).communicate()[0]
    print(f"sqlite single node: {throughput(output):,.0f} values/s acknowledged = committed", flush=True)
    process.send_signal(signal.SIGTERM)
    process.wait()
    shutil.rmtree(data, ignore_errors=True)


def failover(args):
    for run in range(args.runs):
        servers = Servers()
        try:
            processes = [start_node(servers, name, args.partitions, args.lease_ttl) for name in ("a", "b", "c")]
            settle(servers, 3, args.partitions)
            # Steady load on a and c while b dies.
            loads = [load(addr, args.requests, args.connections, f"2026-11-{23 - i:02}T00:00:00Z", args.events)
                     for i, (_, addr) in enumerate([processes[0], processes[2]])]
            owned = [int(x) for x in servers.sql("SELECT partition FROM leases WHERE owner = 'b'").split()]
            # b is committing under the load before it dies.
            while int(servers.sql("SELECT coalesce(min(last_seq), 0) FROM partitions "
                                  f"WHERE partition IN ({','.join(map(str, owned))})")) == 0:
                time.sleep(0.05)
            time.sleep(1)
            before = {p: int(servers.sql(f"SELECT last_seq FROM partitions WHERE partition = {p}")) for p in owned}
            killed = time.monotonic()
            processes[1][0].send_signal(signal.SIGKILL)
            taken = resumed = None
            waiting = set(owned)
            while waiting and time.monotonic() - killed < 60:
                rows = servers.sql("SELECT partition, owner, last_seq FROM leases JOIN partitions USING (partition) "
                                   f"WHERE partition IN ({','.join(map(str, owned))})")
                state = [row.split("|") for row in rows.split()]
                if taken is None and all(owner != "b" for _, owner, _ in state):
                    taken = time.monotonic() - killed
                for partition, owner, last_seq in state:
                    if owner != "b" and int(last_seq) > before[int(partition)]:
                        waiting.discard(int(partition))
                time.sleep(0.02)
            resumed = time.monotonic() - killed
            print(f"run {run + 1}: lease ttl {args.lease_ttl}, b ran partitions {owned}: "
                  f"all taken over after {taken:.2f} s, all committing again after {resumed:.2f} s",
                  flush=True)
            for process in loads:
                process.kill()
                process.wait()
            for process, _ in processes:
                process.kill()
                process.wait()
            if args.show_logs:
                for name in ("a", "b", "c"):
                    with open(os.path.join(servers.dir, f"{name}.log")) as log:
                        for line in log:
                            if "Recovery finished" in line or "Partition" in line or "WARN" in line or "ERROR" in line:
                                print(f"  {name}: {line.strip()[:200]}")
        finally:
            servers.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("ingest", "sqlite"):
        command = sub.add_parser(name)
        command.add_argument("--requests", type=int, default=200, help="batches per generator")
        command.add_argument("--events", type=int, default=1000)
        command.add_argument("--connections", type=int, default=8)
        command.add_argument("--partitions", type=int, default=16)
        if name == "ingest":
            command.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 3])
    command = sub.add_parser("failover")
    command.add_argument("--runs", type=int, default=3)
    command.add_argument("--partitions", type=int, default=16)
    command.add_argument("--lease-ttl", default="5s")
    command.add_argument("--show-logs", action="store_true", help="print the nodes' partition lines")
    command.add_argument("--events", type=int, default=1000, help="events per batch of the steady load")
    command.add_argument("--connections", type=int, default=1, help="connections of each of the two generators")
    command.add_argument("--requests", type=int, default=3000, help="batches of each generator (the load lasts past the failover)")
    args = parser.parse_args()
    {"ingest": ingest, "sqlite": sqlite, "failover": failover}[args.command](args)


if __name__ == "__main__":
    main()
