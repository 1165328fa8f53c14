#!/usr/bin/env python3
"""Checks the two-node VM's results, each from memplan's own JSON: check.py console.log host.json.
Prints one line per check and the per-node page counts it saw; exits 1 if any check fails."""
import json
import re
import sys

console = open(sys.argv[1], encoding="utf-8", errors="replace").read().replace("\r", "")
host = json.load(open(sys.argv[2]))
failures = []


def check(condition, message):
    print(("ok    " if condition else "FAIL  ") + message)
    if not condition:
        failures.append(message)


blocks, exits, errors = {}, {}, {}
for match in re.finditer(r"=== BEGIN (\S+)\n(.*?)=== END \1 exit=(\d+)\n=== STDERR \1: ([^\n]*)", console, re.S):
    name, body, code, stderr = match.groups()
    exits[name] = int(code)
    errors[name] = stderr.strip()
    start = body.find("{")
    try:
        blocks[name] = json.loads(body[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        blocks[name] = None
check("=== DONE" in console, "the VM ran every check and reached the end")
if "=== DONE" not in console:
    print(console[-3000:])


def pages(name):
    document = blocks.get(name) or {}
    return {int(k): v for k, v in (document.get("actual", {}).get("pages_by_node") or {}).items()}


topology = blocks.get("topology") or {}
nodes = topology.get("nodes", [])
check(exits.get("topology") == 0 and len(nodes) == 2, f"topology: {len(nodes)} nodes (numa_available {topology.get('numa_available')})")
for node in nodes:
    check(bool(node.get("cpus")) and node.get("total_bytes", 0) > 0,
          f"topology: node {node.get('node')} has CPUs {node.get('cpus')} and {node.get('total_bytes', 0) / 2**20:.0f} MiB "
          f"({node.get('free_bytes', 0) / 2**20:.0f} MiB free)")

for placement, node in [("node1", 1), ("node0", 0)]:
    document = blocks.get(placement) or {}
    counts = pages(placement)
    total = sum(counts.values()) + document.get("actual", {}).get("pages_not_resident", 0)
    print(f"      {placement}: pages by node {counts} of {total}")
    check(exits.get(placement) == 0, f"train --placement node:{node} exits 0 ({errors.get(placement, '')})")
    if document:
        actual, predicted = document["actual"], document["predicted"]
        check(counts.get(node, 0) == total and total > 0, f"train --placement node:{node}: every arena page ({total}) on node {node}")
        page = actual.get("page_bytes", 4096)
        whole_pages = -(-predicted["arena_bytes"] // page) * page
        check(actual["arena_bytes"] == whole_pages,
              f"train --placement node:{node}: mapped {actual['arena_bytes']:,} (kernel) = predicted {predicted['arena_bytes']:,} in whole pages")
        check(actual["planned_node"] == node, f"train --placement node:{node}: planned node {actual['planned_node']}")

document = blocks.get("interleave") or {}
counts = pages("interleave")
total = sum(counts.values())
print(f"      interleave: pages by node {counts} of {total}")
check(exits.get("interleave") == 0, f"train --placement interleave exits 0 ({errors.get('interleave', '')})")
if total:
    shares = {node: counts.get(node, 0) / total for node in (0, 1)}
    check(all(0.40 <= share <= 0.60 for share in shares.values()),
          f"interleave: node 0 holds {100 * shares[0]:.1f}%, node 1 {100 * shares[1]:.1f}% (each 40–60%)")

capacity = blocks.get("capacity") or {}
check(exits.get("capacity") == 0, f"capacity --machine local exits 0 ({errors.get('capacity', '')})")
if capacity:
    machine_nodes = {n["node"]: n for n in capacity["machine"]["nodes"]}
    check(len(machine_nodes) == 2, f"capacity: the machine has {len(machine_nodes)} nodes")
    for result in capacity["results"]:
        per_node = {int(k): v for k, v in result["max_batch"]["per_node"].items()}
        usable = {int(k): v for k, v in result["usable_bytes"]["per_node"].items()}
        consistent = len(per_node) == 2 and all(
            usable[n] <= machine_nodes[n]["free_bytes"] and per_node[n] >= 1 for n in per_node)
        check(consistent and result["max_batch"]["machine"] >= max(per_node.values()),
              f"capacity {result['precision']}: max batch per node {per_node}, machine {result['max_batch']['machine']:,}, "
              f"usable per node {', '.join(f'{v / 2**20:.0f} MiB' for v in usable.values())}")

check(exits.get("too-large") == 3 and "node 1" in errors.get("too-large", "") and "free" in errors.get("too-large", ""),
      f"an arena larger than node 1's free memory: exit {exits.get('too-large')}: {errors.get('too-large', '')}")

ranks = blocks.get("ranks") or {}
check(exits.get("ranks") == 0, f"mpirun -np 2 memplan train --strategy zero1 exits 0 ({errors.get('ranks', '')})")
entries = ranks.get("ranks") or []
check([entry.get("rank") for entry in entries] == [0, 1], f"the merged record has both ranks: {[e.get('rank') for e in entries]}")
for entry in entries:
    rank, actual, predicted = entry["rank"], entry["actual"], entry["predicted"]
    counts = {int(k): v for k, v in (actual.get("pages_by_node") or {}).items()}
    total = sum(counts.values()) + actual.get("pages_not_resident", 0)
    print(f"      rank {rank}: pages by node {counts} of {total}; {actual.get('heap_allocations_per_step')} heap allocations "
          f"per step; numa_maps {actual.get('numa_maps')}")
    check(entry.get("node") == rank and counts.get(rank, 0) == total and total > 0,
          f"rank {rank}: planned on node {entry.get('node')}, every arena page ({total}) on node {rank} (numa_maps)")
    check(actual["arena_bytes"] == predicted.get("arena_mapped_bytes"),
          f"rank {rank}: mapped {actual['arena_bytes']:,} (kernel) = planned {predicted.get('arena_mapped_bytes'):,}")

vm_accuracy = ((blocks.get("node1") or {}).get("metrics") or {}).get("test_accuracy")
host_accuracy = host["metrics"]["test_accuracy"]
if vm_accuracy is not None:
    check(abs(vm_accuracy - host_accuracy) <= 0.01,
          f"test accuracy in the VM {vm_accuracy:.4f} (OpenBLAS {blocks['node1']['throughput']['blas_core']}) vs on the host "
          f"{host_accuracy:.4f} (OpenBLAS {host['throughput']['blas_core']}): within 0.01")
else:
    check(False, "the VM reported a test accuracy")
print(f"numa-vm: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
