#!/bin/sh
# The bad-input catalogue as a system check: every file of the catalogue (the fuzzers' seed corpora, the shipped
# profiles and machines, crafted files with huge numbers, aliases, hostile text, special files) goes through every
# subcommand of a release memplan, each run under `timeout 60` in an empty working directory. Asserts, for every run:
#   - an exit status from 0 to 3 (never a signal, never the timeout);
#   - nothing written but the path the run was given (inputs, the working directory and the rest untouched);
#   - no special file replaced (FIFOs, device nodes, symbolic links, directories keep their type).
# Device nodes are private copies of /dev/null made with mknod (when root), never the real one.
# Usage: scripts/check-bad-inputs.sh [--quick]   (--quick: the shipped profiles and crafted files only)
# MEMPLAN=path runs another binary (to check the checker, e.g. against an older build).
set -eu
cd "$(dirname "$0")/.."
if [ -z "${MEMPLAN:-}" ]; then swift build -c release --product memplan >/dev/null; fi
exec python3 - "$(pwd)" "${1:-}" "${MEMPLAN:-.build/release/memplan}" <<'PY'
import json, os, shutil, stat, struct, subprocess, sys, tempfile, time

root, mode = sys.argv[1], sys.argv[2]
memplan = os.path.abspath(os.path.join(root, sys.argv[3]))
work = tempfile.mkdtemp(prefix="check-bad-inputs-")
inputs = os.path.join(work, "inputs")
os.makedirs(inputs)
failures = []
runs = 0

def write(name, content):
    path = os.path.join(inputs, name)
    with open(path, "wb") as f:
        f.write(content if isinstance(content, bytes) else content.encode())
    return path

# --- the catalogue's files ---------------------------------------------------------------------------------
profiles = []          # files given where a profile goes
machines = []          # files given where a machine file goes
records = []           # files given to report
csvs = []              # files given as CSV data
for name in sorted(os.listdir(os.path.join(root, "profiles"))):
    if name.endswith(".yaml"):
        profiles.append(os.path.join(root, "profiles", name))
for name in sorted(os.listdir(os.path.join(root, "profiles/machines"))):
    machines.append(os.path.join(root, "profiles/machines", name))
if mode != "--quick":
    for corpus, bucket in [("profile", profiles), ("record", records), ("csv", csvs), ("idx", profiles),
                           ("onnx", profiles), ("safetensors", profiles), ("checkpoint", profiles)]:
        directory = os.path.join(root, "fuzz/corpus", corpus)
        for name in sorted(os.listdir(directory)):
            bucket.append(os.path.join(directory, name))
    machines += [p for p in profiles if "fuzz/corpus/profile" in p]
    profiles += records

mlp = "input: 2\noutput: {units: 1}\nloss: l2\n"
crafted = {
    "empty.yaml": "", "binary.yaml": bytes(range(256)), "nul.yaml": "input: 2\x00\n",
    "escapes.yaml": 'name: "\\e[2J\\e]0;owned\\a\\u202e"\n' + mlp + "data: {source: synthetic, count: 20}\n",
    "huge-epochs.yaml": mlp + "epochs: 1e18\ndata: {source: synthetic, count: 10}\n",
    "huge-count.yaml": mlp + "data: {source: synthetic, count: 9e18}\n",
    "huge-widths.yaml": "input: 9e18\noutput: {units: 9e18}\nloss: l2\n",
    "huge-batch.yaml": mlp + "batch: 9223372036854775807\n",
    "bound-huge.yaml": "kind: bound\nparameters: 9e18\nsample_bytes: 9e18\nbatch: 9e18\n",
    "deep.yaml": "[" * 100000,
    "aliases.yaml": "a0: &a0 {x: 1}\n" + "".join(
        "a%d: &a%d {%s}\n" % (i, i, ", ".join("? [*a%d, %d] : %d" % (i - 1, j, j) for j in range(9))) for i in range(1, 10)) + mlp,
    "fifo-data.yaml": mlp + "batch: 2\ndata: {source: csv, path: fifo}\n",
    "zero-data.yaml": mlp + "batch: 2\ndata: {source: csv, path: /dev/zero}\n",
    "escape-data.yaml": mlp + "batch: 2\ndata: {source: csv, path: ../../../../etc/passwd}\n",
    "big-machine.yaml": "nodes: [{memory: 1000PB, count: 10}]\n",
    "tiny-machine.yaml": "nodes: [{memory: 1}]\n",
    "many-nodes.yaml": "nodes: [{memory: 9e18, count: 4096}]\n",
    "bad.csv": "1,2,3\nSECRET,5,6\n", "crlf.csv": "1,2,3\r\n4,5,9\r\n7,8,15\r\n",
    "fp32-overflow.csv": "1,2,3\n1e300,2,3\n4,5,6\n",
}
for name, content in crafted.items():
    path = write(name, content)
    (machines if "machine" in name else csvs if name.endswith(".csv") else profiles).append(path)
    if name.endswith(".yaml"):
        machines.append(path)
record = json.load(open(os.path.join(root, "fuzz/corpus/record/record-classes.json")))
for name, change in [
    ("record-intmax.json", lambda d: d["predicted"].__setitem__("arena_bytes", 2**63 - 1)),
    ("record-past-int.json", lambda d: d["run"].__setitem__("batch", 2**64)),
    ("record-1e308.json", lambda d: d["throughput"].__setitem__("samples_per_second", 1e308)),
    ("record-negative.json", lambda d: d["actual"].__setitem__("pages_by_node", {"-7": -1})),
    ("record-tags.json", lambda d: [b.__setitem__("category", "<script>x</script>|\x1b[31m") for b in d["plan"]["buffers"]]),
]:
    crafted_record = json.loads(json.dumps(record))
    change(crafted_record)
    records.append(write(name, json.dumps(crafted_record)))
# llm.c GPT-2 checkpoints for `generate`: bytes-gpt's header (maxT 128, V 256, L 4, NH 4, C 256, Vp 256) with no
# body, fields at Int32's limits and negative, a wrong version.
def checkpoint(name, fields, body=b""):
    return write(name, struct.pack("<256i", *(fields + [0] * (256 - len(fields)))) + body)
checkpoints = [
    checkpoint("ckpt-truncated.bin", [20240326, 3, 128, 256, 4, 4, 256, 256], b"\0" * 1000),
    checkpoint("ckpt-huge.bin", [20240326, 3, 2**31 - 1, 256, 2**31 - 1, 4, 2**31 - 1, 2**31 - 1]),
    checkpoint("ckpt-negative.bin", [20240326, 3, -128, -256, -4, -4, -256, -256]),
    checkpoint("ckpt-version.bin", [20240326, 99, 128, 256, 4, 4, 256, 256]),
]
fifo = os.path.join(inputs, "fifo")
os.mkfifo(fifo)
big = write("sparse-3g.yaml", b"")
os.truncate(big, 3 << 30)
line = write("sparse-1g.csv", b"")
os.truncate(line, 1 << 30)
profiles += [fifo, big, inputs]
csv_profile = write("csv-profile.yaml", mlp + "batch: 2\ndata: {source: csv, path: data.csv}\n")
machines += [fifo, big]
records += [fifo, line]
csvs += [fifo, line, "/dev/zero"]

# --- special output targets --------------------------------------------------------------------------------
def make_targets(directory):
    """Targets an output may be given, and the type each must keep."""
    targets = {}
    path = os.path.join(directory, "fifo-out")
    os.mkfifo(path)
    targets[path] = stat.S_IFIFO
    if os.geteuid() == 0:
        path = os.path.join(directory, "null-out")
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        targets[path] = stat.S_IFCHR
    real = os.path.join(directory, "real.json")
    open(real, "w").write("old")
    path = os.path.join(directory, "link-out")
    os.symlink("real.json", path)
    targets[path] = stat.S_IFLNK
    path = os.path.join(directory, "dir-out")
    os.mkdir(path)
    targets[path] = stat.S_IFDIR
    return targets

# --- running ------------------------------------------------------------------------------------------------
def snapshot(directory):
    """Every path under `directory` with its type, size and modification time."""
    result = {}
    for base, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = os.path.join(base, name)
            st = os.lstat(path)
            result[path] = (stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns)
    return result

inputs_before = snapshot(inputs)

def run(arguments, allowed=(), limits=None, label=None):
    """Runs memplan in a fresh working directory; `allowed` are the paths it may create or change."""
    global runs
    runs += 1
    cwd = tempfile.mkdtemp(dir=work, prefix="cwd-")
    arguments = [a.replace("$CWD", cwd) for a in arguments]
    allowed = {a.replace("$CWD", cwd) for a in allowed}
    targets = make_targets(cwd)
    before = snapshot(cwd)
    command = [memplan] + arguments
    if limits:
        command = ["/bin/sh", "-c", limits + '; exec "$0" "$@"'] + command
    started = time.time()
    try:
        result = subprocess.run(
            ["timeout", "60"] + command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, timeout=90)
        status, stderr = result.returncode, result.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired:
        status, stderr = 124, ""
    name = label or " ".join(a.replace(root + "/", "").replace(work + "/", "") for a in arguments)
    problems = []
    if status == 124:
        problems.append("still running after 60 s")
    elif status < 0 or status > 3:
        problems.append("exit %d (%s)" % (status, "a signal" if status < 0 or status >= 128 else "outside 0-3"))
    if status in (1, 2, 3) and len(stderr.strip().split("\n")) != 1:
        problems.append("the error is not one line: %r" % stderr[:300])
    if "\x1b" in stderr:
        problems.append("an escape sequence reached stderr")
    after = snapshot(cwd)
    for path, kind in targets.items():
        if after.get(path, (None,))[0] != kind:
            problems.append("%s was replaced" % os.path.basename(path))
    for path in set(before) | set(after):
        if before.get(path) != after.get(path) and path not in allowed:
            problems.append("wrote %s" % path.replace(cwd, "$CWD"))
    shutil.rmtree(cwd, ignore_errors=True)
    if problems:
        failures.append("%s: %s" % (name, "; ".join(problems)))
        print("FAIL  %s: %s" % (name, "; ".join(problems)), flush=True)
    return status

out = "$CWD/out"
for profile in profiles:
    run(["estimate", profile])
    run(["plan", profile, "--format", "json"])
    run(["import", profile, "--output", out], allowed=[out])
    # A transformer trains for two steps: an epoch of bytes-gpt is minutes, not a bad input.
    steps = []
    if os.path.isfile(profile):  # never open the FIFO here
        with open(profile, "rb") as f:
            steps = ["--steps", "2"] if b"kind: transformer" in f.read(1 << 20) else []
    run(["train", profile, "--epochs", "1", "--threads", "1", "--record", out] + steps, allowed=[out])
    run(["select", profile, "--degrees", "1,2", "--folds", "2", "--epochs", "2"])
    run(["capacity", profile, "--machine", os.path.join(root, "profiles/machines/ci-2node-vm.yaml"), "--format", "json",
         "--output", out], allowed=[out])
    run(["report", profile, "--format", "markdown", "--output", out], allowed=[out])
for machine in machines:
    run(["capacity", os.path.join(root, "profiles/fashion-mnist-mlp.yaml"), "--machine", machine, "--no-data",
         "--format", "html", "--output", out], allowed=[out])
for document in records:
    for format in ["markdown", "html", "table", "json"]:
        run(["report", document, "--format", format, "--output", out], allowed=[out])
for data in csvs:
    run(["train", csv_profile, "--data", data, "--epochs", "1"])
idx_directory = os.path.join(root, "fuzz/corpus/idx")
run(["train", os.path.join(root, "profiles/softmax-fashion.yaml"), "--data", idx_directory, "--epochs", "1"])
run(["train", os.path.join(root, "profiles/softmax-fashion.yaml"), "--data", inputs, "--epochs", "1"])

# generate: crafted checkpoints, and every profile, record and data file given as one.
gpt = os.path.join(root, "profiles/bytes-gpt.yaml")
for document in checkpoints + profiles + records + csvs:
    run(["generate", gpt, "--checkpoint-file", document, "--tokens", "4"])
for flags in [["--tokens", "0"], ["--tokens", "9e18"], ["--temperature", "nan"], ["--temperature", "-1"],
              ["--prompt", "\u00ff\x1b[2J"]]:
    run(["generate", gpt, "--checkpoint-file", checkpoints[0]] + flags)

# Every output flag to every special target: written through, refused, or (a link) the file it points to updated.
small = os.path.join(root, "profiles/smallest-perceptron.yaml")
quiz = os.path.join(root, "profiles/quiz-300b.yaml")
for target in ["fifo-out", "null-out", "link-out", "dir-out", "-", "/dev/stdout", "missing/out"]:
    path = target if target in ("-", "/dev/stdout") else "$CWD/" + target
    allowed = [path, "$CWD/real.json"] if target == "link-out" else [path]
    run(["train", small, "--record", path], allowed=allowed)
    run(["train", gpt, "--data", "synthetic", "--steps", "1", "--threads", "1", "--save-checkpoint", path],
        allowed=allowed)
    run(["capacity", quiz, "--format", "html", "--output", path], allowed=allowed)
    run(["report", os.path.join(root, "fuzz/corpus/record/record-classes.json"), "--output", path], allowed=allowed)

# One-character paths, standard input, default outputs.
for arguments, allowed in [
    (["estimate", "-"], []), (["report", "-", "--output", "-"], []),
    (["capacity", quiz, "--format", "html"], ["$CWD/reports", "$CWD/reports/capacity-quiz-300b-local.html"]),
]:
    run(arguments, allowed=allowed)

# Flags at their limits and past them.
for flags in [
    ["--batch", "9e18"], ["--batch", "-5"], ["--epochs", "1e18"], ["--epochs", "-1"], ["--learning-rate", "-1"],
    ["--learning-rate", "1e308"], ["--learning-rate", "nan"], ["--threads", "99999"], ["--seed", "1e30"],
    ["--seed", "18446744073709551615"], ["--precision", "half"], ["--placement", "node:99999999999999999999"],
    ["--data", "/dev/zero"], ["--data", "."], ["--optimizer", "lamb"], ["--format", "pdf"], ["--precision", "bf16-mixed"],
]:
    run(["train", small] + flags)
for flags in [["--batch", "9223372036854775807"], ["--alignment", "4611686018427387904"], ["--rows", "-1"],
              ["--precision", "bfloat16"], ["--threads", "0"]]:
    run(["plan", os.path.join(root, "profiles/fashion-mnist-mlp.yaml")] + flags)
for flags in [["--headroom", "99.99999%"], ["--headroom", "-10%"], ["--headroom", "1e308"], ["--precision", "quad"],
              ["--memory", "available"], ["--memory", "swap"]]:
    run(["capacity", quiz] + flags)
for flags in [["--parameters", "9e18", "--sample-bytes", "9e18"], ["--parameters", "7B", "--sample-bytes", "1GB"],
              ["--mlp", "9e18,9e18"], ["--mlp", "4,,2"], ["--mlp", "-1,2"],
              ["--parameters", "9e18", "--sample-bytes", "1", "--precision", "bf16-mixed"],
              ["--parameters", "2e18", "--sample-bytes", "1", "--precision", "fp16-mixed", "--optimizer", "adam"]]:
    run(["estimate"] + flags)
for precision in ["bf16-mixed", "fp16-mixed", "bfloat16"]:
    run(["capacity", os.path.join(root, "profiles/llama2-7b.yaml"), "--machine",
         os.path.join(root, "profiles/machines/dgx-8x80g.yaml"), "--precision", precision])
run(["train", small, "--epochs", "2"], limits="ulimit -v 300000", label="train under ulimit -v 300000")

inputs_after = snapshot(inputs)
for path in set(inputs_before) | set(inputs_after):
    if inputs_before.get(path) != inputs_after.get(path):
        failures.append("an input changed: %s" % path)
        print("FAIL  an input changed: %s" % path)
shutil.rmtree(work, ignore_errors=True)
print("check-bad-inputs: %d runs, %d failure(s)" % (runs, len(failures)))
sys.exit(1 if failures else 0)
PY
