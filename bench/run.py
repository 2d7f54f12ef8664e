"""The benchmark driver behind `make bench`: start the loopback server, run
every client on every workload several times, check each output byte for
byte, and write bench/RESULTS.md.

    python3 bench/run.py [--build DIR] [--runs N] [--big-runs N] [--quick]
                         [--baseline REV] [--depth-only]

Each client runs as a child process reaped with os.wait4(), which gives
its CPU time (user + sys) and peak RSS; wall time is taken around it.
Figures are medians with min-max over the runs, and each is also given
as a ratio to curl's figure from the same run. With --baseline, the C
consumer of commit REV (built from `git archive REV` in a temporary
folder) runs alongside on every workload, and the JSON reader's CPU per
KB against nesting is measured on both (bench/jsondepth.c). The nesting
figures also go into docs/security.md (between its markers) when
RESULTS.md is written in its usual place, or alone with --depth-only.
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PEERS = os.path.join(HERE, "peers")
sys.path.insert(0, HERE)
import loc  # noqa: E402

RUNSTAT = None  # build/bench_runstat, set by main()
DEFAULT_OUT = os.path.join(HERE, "RESULTS.md")
MODEL = "qwen2.5-7b-instruct-q4_k_m"
PROMPT = "Write a long answer."
CHUNKS = {"text100k": 100000, "text1m": 1000000, "args100k": 100000,
          "tools1000": 1000, "empty": 1}
KIND = {"text100k": "text", "text1m": "text", "args100k": "args",
        "tools1000": "tools", "empty": "text"}
TOOLS_JSON = [{"type": "function", "function": {
    "name": "write_file", "description": "Write a text file.",
    "parameters": {"type": "object", "properties": {
        "path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path", "content"]}}}]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sh(cmd):
    """First line of a command's output, or "" when it fails."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return ""


# --------------------------------------------------------------- the peers

def ensure_curl():
    if shutil.which("curl"):
        return None
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("bench: installing curl: apt-get install -y curl")
        subprocess.run(["apt-get", "install", "-y", "curl"],
                       stdout=subprocess.DEVNULL)
        if shutil.which("curl"):
            return None
    return "skipped: curl not found (apt-get install -y curl)"


def ensure_node_sdk():
    if not shutil.which("node") or not shutil.which("npm"):
        return "skipped: npm not found"
    if not os.path.isdir(os.path.join(PEERS, "node_modules", "openai")):
        log("bench: npm install (openai SDK) into bench/peers")
        r = subprocess.run(["npm", "install", "--prefix", PEERS,
                            "--no-audit", "--no-fund", "--no-package-lock"],
                           cwd=PEERS, stdout=subprocess.DEVNULL)
        if r.returncode != 0:
            return "skipped: npm install openai failed"
    return None


def sdk_version():
    try:
        with open(os.path.join(PEERS, "node_modules", "openai",
                               "package.json")) as f:
            return json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return "?"


# ---------------------------------------------------------------- clients

class Client:
    """How to run one client on a workload, and how to read its output
    back into the canonical form the server's expected files hold."""

    def __init__(self, name, skip=None):
        self.name, self.skip = name, skip

    def cmd(self, base, workload, tmp):
        raise NotImplementedError

    def canon(self, out, workload):
        return out


class Curl(Client):
    """curl -sN (unbuffered, as one streams); with buffered set, curl -s,
    which writes its output in large pieces: the floor of the floor."""

    def __init__(self, name, skip=None, buffered=False):
        super().__init__(name, skip)
        self.buffered = buffered

    def cmd(self, base, workload, tmp):
        url = base + "/chat/completions"
        body = json.dumps({"model": MODEL, "stream": True, "messages": [
            {"role": "user", "content": PROMPT}]})
        if workload != "tools1000":
            return ["curl", "-s" if self.buffered else "-sN",
                    "-o", "/dev/null", "-w",
                    "%{size_download}\n", "-H",
                    "Content-Type: application/json", "-d", body, url]
        # curl cannot run tools: it asks for each round by header, over
        # one connection (curl reuses it across --next transfers).
        cfg = os.path.join(tmp, "curl_rounds.cfg")
        with open(cfg, "w") as f:
            for r in range(CHUNKS["tools1000"] + 1):
                f.write('url = "%s"\nsilent\n%soutput = "/dev/null"\n'
                        'write-out = "%%{size_download}\\n"\n'
                        'header = "Content-Type: application/json"\n'
                        'header = "X-Round: %d"\ndata = %s\n'
                        % (url, "" if self.buffered else "no-buffer\n", r,
                           json.dumps(body)))
                if r < CHUNKS["tools1000"]:
                    f.write("next\n")
        return ["curl", "-K", cfg]

    def canon(self, out, workload):
        # curl's output is the body size; compared with WORKLOAD.bytes.
        return str(sum(int(x) for x in out.split())).encode() + b"\n"


class Node(Client):
    def cmd(self, base, workload, tmp):
        return ["node", os.path.join(PEERS, "node_client.mjs"),
                KIND[workload], base]


class Python(Client):
    def cmd(self, base, workload, tmp):
        return [sys.executable, os.path.join(PEERS, "py_client.py"),
                KIND[workload], base]


class Oa(Client):
    def __init__(self, name, path):
        super().__init__(name)
        self.path = path

    def cmd(self, base, workload, tmp):
        if workload == "tools1000":
            return None
        c = [self.path, "--jsonl", "--base-url", base, "--model", MODEL]
        if workload == "args100k":
            tj = os.path.join(tmp, "tools.json")
            with open(tj, "w") as f:
                json.dump(TOOLS_JSON, f)
            c += ["--tools-json", tj]
        return c + [PROMPT]

    def canon(self, out, workload):
        text = []
        for line in out.splitlines():
            if line.startswith(b'{"type":"text"'):
                text.append(json.loads(line)["text"].encode())
            elif line.startswith(b'{"type":"tool_use"'):
                # The input is copied raw: take it as it stands.
                text.append(line[line.index(b',"input":') + 9:-1])
        return b"".join(text)


class Consumer(Client):
    def __init__(self, name, path):
        super().__init__(name)
        self.path = path

    def cmd(self, base, workload, tmp):
        return [self.path, KIND[workload], base]


# ------------------------------------------------------------- measuring

def clean_env(tmp):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp,
           "LANG": "C.UTF-8", "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    return env


def run_once(cmd, env, cwd, tmp):
    """Run cmd under runstat; return (status, cpu s, wall s, peak RSS KB,
    stdout, stderr)."""
    out_path, err_path = os.path.join(tmp, "out"), os.path.join(tmp, "err")
    stat_path = os.path.join(tmp, "stat")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        subprocess.run([RUNSTAT, stat_path] + cmd, stdout=out, stderr=err,
                       env=env, cwd=cwd, stdin=subprocess.DEVNULL)
    with open(stat_path) as f:
        code, cpu, wall, rss = f.read().split()
    with open(out_path, "rb") as f:
        stdout = f.read()
    with open(err_path, "rb") as f:
        stderr = f.read()
    return int(code), float(cpu), float(wall), int(rss), stdout, stderr


def summary(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def measure(client, workload, mode, runs, port, expected, tmp):
    """Runs of one client on one workload. Returns a result dict, or one
    with "skip" set."""
    if client.skip:
        return {"skip": client.skip}
    base = "http://127.0.0.1:%d/%s/%s/v1" % (port, workload, mode)
    cmd = client.cmd(base, workload, tmp)
    if cmd is None:
        return {"skip": "skipped: oa has no option for max_tool_iterations "
                        "(the library default is 5 rounds)"}
    want = expected[workload + (".bytes" if isinstance(client, Curl)
                                else "")]
    cpu, wall, rss, stats, wrong = [], [], [], [], 0
    for _ in range(runs):
        rc, c, w, m, out, err = run_once(cmd, clean_env(tmp), tmp, tmp)
        ok = rc == 0 and client.canon(out, workload) == want
        if not ok:
            wrong += 1
            log("bench: %s on %s/%s: WRONG OUTPUT (exit %d): %s" % (
                client.name, workload, mode, rc, err[-300:].decode(
                    "utf-8", "replace")))
        cpu.append(c)
        wall.append(w)
        rss.append(m)
        s = re.search(rb"stats (.*)", err)
        if s:
            stats.append(dict(kv.split("=") for kv in
                              s.group(1).decode().split()))
    log("bench: %-8s %-9s %-3s cpu %.3fs wall %.3fs rss %d KB%s" % (
        client.name, workload, mode, statistics.median(cpu),
        statistics.median(wall), statistics.median(rss),
        "  WRONG x%d" % wrong if wrong else ""))
    return {"cpu": summary(cpu), "wall": summary(wall), "rss": summary(rss),
            "wrong": wrong, "runs": runs, "stats": stats}


def latency(consumer, port, tmp, runs):
    """Nanoseconds from the server writing an event to the client having
    it: oa_next() in consumer, and curl's output read through a pipe."""
    base = "http://127.0.0.1:%d/lat/lat/v1" % port
    env = clean_env(tmp)
    oa_ns, curl_ns = [], []
    for _ in range(runs):
        r = subprocess.run([consumer, "lat", base], capture_output=True,
                           env=env, cwd=tmp)
        oa_ns += [int(x) for x in r.stdout.split()]
        if shutil.which("curl"):
            c = subprocess.Popen(["curl", "-sN", "-H",
                                  "Content-Type: application/json", "-d",
                                  "{}", base + "/chat/completions"],
                                 stdout=subprocess.PIPE, env=env)
            r = subprocess.run([consumer, "stdin-lat"], stdin=c.stdout,
                               capture_output=True)
            c.stdout.close()
            c.wait()
            curl_ns += [int(x) for x in r.stdout.split()]
    return oa_ns, curl_ns


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def callgrind(consumer, port, tmp):
    """Self-cost shares of the hottest functions of the C consumer on
    text100k, from callgrind; [] when valgrind is missing."""
    if not shutil.which("valgrind") or not shutil.which("callgrind_annotate"):
        return [], 0
    out = os.path.join(tmp, "callgrind.out")
    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" +
                    out, consumer, "text",
                    "http://127.0.0.1:%d/text100k/ev/v1" % port],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   cwd=tmp)
    r = subprocess.run(["callgrind_annotate", "--threshold=99", out],
                       capture_output=True, text=True)
    total, rows = 0, []
    for line in r.stdout.splitlines():
        m = re.match(r"\s*([\d,]+) .*PROGRAM TOTALS", line)
        if m:
            total = int(m.group(1).replace(",", ""))
        m = re.match(r"\s*([\d,]+) \(\s*([\d.]+)%\)\s+(\S+?):(\S+)", line)
        if m and "PROGRAM TOTALS" not in line:
            rows.append((float(m.group(2)), m.group(3), m.group(4)))
    return rows[:12], total


def build_baseline(rev, tmp):
    """Build commit rev's library and C consumer in tmp/base; return its
    folder, or None (with the reason logged) when that fails."""
    base = os.path.join(tmp, "base")
    os.makedirs(base)
    arch = subprocess.run(["git", "-C", REPO, "archive", rev],
                          capture_output=True)
    if arch.returncode != 0:
        log("bench: git archive %s failed: %s" % (rev, arch.stderr.decode(
            "utf-8", "replace").strip()))
        return None
    subprocess.run(["tar", "-x", "-C", base], input=arch.stdout, check=True)
    r = subprocess.run(["make", "-C", base, "-j2", "build/bench_consumer"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        log("bench: building %s failed:\n%s" % (rev, r.stderr[-2000:]))
        return None
    return base


def jsondepth(prog):
    """bench/jsondepth's lines as {name: (bytes, result, us, us_per_kb)};
    {} when it cannot run."""
    if not prog or not os.path.exists(prog[0]):
        return {}
    r = subprocess.run(prog, capture_output=True, text=True, timeout=600)
    rows = {}
    for line in r.stdout.splitlines():
        name, n, res, us, kb = line.split()
        rows[name] = (int(n), res, float(us), float(kb))
    return rows


def instructions(consumer, port, tmp, workload):
    """Instructions the C consumer executes on workload (callgrind), or 0."""
    if not shutil.which("valgrind"):
        return 0
    out = os.path.join(tmp, "callgrind.count")
    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" +
                    out, consumer, "text",
                    "http://127.0.0.1:%d/%s/ev/v1" % (port, workload)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   cwd=tmp)
    try:
        with open(out) as f:
            m = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M)
    except OSError:
        return 0
    return int(m.group(1)) if m else 0


def curl_footprint():
    """Stripped bytes of the curl program and the libcurl it loads."""
    total, parts = 0, []
    path = shutil.which("curl")
    if not path:
        return 0, ""
    libs = [path]
    ldd = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    m = re.search(r"libcurl\S*\s+=>\s+(\S+)", ldd)
    if m:
        libs.append(os.path.realpath(m.group(1)))
    for p in libs:
        total += stripped_size(p)
        parts.append(os.path.basename(p))
    return total, " + ".join(parts)


STATIC_LD = ["-static", "-s", "-Wl,--gc-sections", "-Wl,--build-id=none",
             "-Wl,-z,norelro", "-Wl,-z,noseparate-code"]


def static_sizes(tmp):
    """Stripped bytes of static musl programs: `make static` with TLS and
    without, and test/core_agent.c on the core alone (dist/core), built
    with the same flags. Empty when musl-gcc is missing."""
    out = {}
    if shutil.which("musl-gcc") is None:
        return out
    for key, extra, path in (("tls", [], "build/static/oa"),
                             ("notls", ["OA_NO_TLS=1"],
                              "build/static-notls/oa")):
        r = subprocess.run(["make", "-s", "static"] + extra, cwd=REPO,
                           capture_output=True)
        if r.returncode == 0:
            out[key] = os.path.getsize(os.path.join(REPO, path))
    inc = os.path.join(tmp, "core-include")
    os.makedirs(inc, exist_ok=True)
    if not os.path.exists(os.path.join(inc, "jsmn.h")):
        os.symlink("/usr/include/jsmn.h", os.path.join(inc, "jsmn.h"))
    exe = os.path.join(tmp, "core_agent")
    r = subprocess.run(["make", "-s", "amalgamation"], cwd=REPO,
                       capture_output=True)
    if r.returncode == 0:
        r = subprocess.run(
            ["musl-gcc", "-std=c99", "-Os", "-fno-asynchronous-unwind-tables",
             "-ffunction-sections", "-fdata-sections", "-I" + inc,
             "-I" + os.path.join(REPO, "dist", "core"),
             os.path.join(REPO, "test", "core_agent.c"),
             os.path.join(REPO, "dist", "core", "openagent.c"), "-o", exe]
            + STATIC_LD, capture_output=True)
        if r.returncode == 0:
            out["core"] = os.path.getsize(exe)
    return out


def stripped_size(path):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "x")
        r = subprocess.run(["strip", "-o", out, path], capture_output=True)
        return os.path.getsize(out if r.returncode == 0 else path)


# ----------------------------------------------------------------- report

def fmt_s(s):
    return "%.3f s (%.3f–%.3f)" % (s["median"], s["min"], s["max"])


def fmt_kb(s):
    return "%.1f MB (%.1f–%.1f)" % (s["median"] / 1024, s["min"] / 1024,
                                     s["max"] / 1024)


def ratio(a, b):
    return "%.2f×" % (a / b) if b else "n/a"


def table(res, clients, workload, mode):
    rows = ["| client | CPU user+sys | × curl | wall | × curl | peak RSS | "
            "× curl | output |", "|---|---|---|---|---|---|---|---|"]
    base = res.get(("curl", workload, mode), {})
    for c in clients:
        r = res.get((c.name, workload, mode))
        if r is None:
            continue
        if "skip" in r:
            rows.append("| %s | %s | | | | | | |" % (c.name, r["skip"]))
            continue
        cur = lambda k: base[k]["median"] if k in base else 0  # noqa: E731
        rows.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            c.name, fmt_s(r["cpu"]), ratio(r["cpu"]["median"], cur("cpu")),
            fmt_s(r["wall"]), ratio(r["wall"]["median"], cur("wall")),
            fmt_kb(r["rss"]), ratio(r["rss"]["median"], cur("rss")),
            "**WRONG in %d of %d runs**" % (r["wrong"], r["runs"])
            if r["wrong"] else "identical, %d runs" % r["runs"]))
    return "\n".join(rows)


def per_chunk_us(res, name, workload, mode="ev"):
    """Median CPU per chunk in microseconds, start-up (the empty workload)
    subtracted; None when either is missing."""
    r, e = res.get((name, workload, mode)), res.get((name, "empty", "ev"))
    if not r or not e or "skip" in r or "skip" in e:
        return None
    return (r["cpu"]["median"] - e["cpu"]["median"]) / CHUNKS[workload] * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--runs", type=int, default=5,
                    help="runs per client on the 100k workloads")
    ap.add_argument("--big-runs", type=int, default=5,
                    help="runs per client on text1m and tools1000")
    ap.add_argument("--quick", action="store_true",
                    help="one run each, no profile: check the bench works")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--depth-only", action="store_true",
                    help="only the JSON nesting measurement, written into "
                         "docs/security.md")
    ap.add_argument("--baseline", metavar="REV",
                    help="also run commit REV's C consumer, for ratios")
    args = ap.parse_args()
    if args.quick:
        args.runs = args.big_runs = 1
    build = os.path.abspath(args.build)
    global RUNSTAT
    RUNSTAT = os.path.join(build, "bench_runstat")
    # Stopped with SIGTERM: still stop the server (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    started = time.time()

    curl_skip = ensure_curl()
    node_skip = ensure_node_sdk()
    clients = [Curl("curl", curl_skip),
               Curl("curl -s", curl_skip, buffered=True), Node("node-openai", node_skip),
               Python("python-stdlib"), Oa("oa --jsonl", os.path.join(
                   build, "oa")), Consumer("C oa_next",
                                           os.path.join(build,
                                                        "bench_consumer"))]
    tmp = tempfile.mkdtemp(prefix="oa-bench-")
    base = build_baseline(args.baseline, tmp) if args.baseline else None
    if args.depth_only:
        depth = measure_depth(build, base, tmp)
        shutil.rmtree(tmp, ignore_errors=True)
        if not depth["now"]:
            return 1
        update_security(depth_table(depth, args.baseline))
        log("bench: wrote the nesting figures into docs/security.md")
        return 0
    if base:
        clients.append(Consumer(baseline_name(args.baseline), os.path.join(
            base, "build", "bench_consumer")))
    elif args.baseline:
        clients.append(Client(baseline_name(args.baseline),
                              "skipped: commit %s did not build"
                              % args.baseline))
    for c in clients:
        if c.skip:
            log("bench: %s: %s" % (c.name, c.skip))

    exp_dir = os.path.join(tmp, "expected")
    srv_log = open(os.path.join(tmp, "server.log"), "w+")
    server = subprocess.Popen([os.path.join(build, "bench_server"), "-x",
                               exp_dir, "-d", "50"], stdout=subprocess.PIPE,
                              stderr=srv_log, text=True)
    try:
        port = int(server.stdout.readline().split()[1])
        expected = {}
        for w in CHUNKS:
            with open(os.path.join(exp_dir, w + ".txt"), "rb") as f:
                expected[w] = f.read()
            with open(os.path.join(exp_dir, w + ".bytes"), "rb") as f:
                expected[w + ".bytes"] = f.read()

        plan = [("empty", "ev", args.runs), ("text100k", "ev", args.runs),
                ("text100k", "big", args.runs),
                ("args100k", "ev", args.runs),
                ("tools1000", "ev", args.big_runs),
                ("text1m", "ev", args.big_runs)]
        res = {}
        conns = {}
        for workload, mode, runs in plan:
            for c in clients:
                srv_log.seek(0, os.SEEK_END)
                mark = srv_log.tell()
                res[(c.name, workload, mode)] = measure(
                    c, workload, mode, runs, port, expected, tmp)
                if workload == "tools1000":
                    time.sleep(0.2)  # the server child logs as it exits
                    srv_log.seek(mark)
                    conns[c.name] = [int(x) for x in re.findall(
                        r"requests (\d+)", srv_log.read())]
        log("bench: latency (40 events, 50 ms apart)")
        lat_oa, lat_curl = latency(os.path.join(build, "bench_consumer"),
                                   port, tmp, 1 if args.quick else 3)
        prof, prof_total = ([], 0) if args.quick else callgrind(
            os.path.join(build, "bench_consumer"), port, tmp)
        ins = {}
        if base and not args.quick:
            log("bench: callgrind, instructions per chunk")
            for name, path in ((C_NAME, os.path.join(build,
                                                     "bench_consumer")),
                               (baseline_name(args.baseline), os.path.join(
                                   base, "build", "bench_consumer"))):
                ins[name] = [instructions(path, port, tmp, w)
                             for w in ("text100k", "empty")]
    finally:
        server.kill()
        server.wait()
    srv_log.close()

    depth = measure_depth(build, base, tmp)

    statics = static_sizes(tmp)
    oa_size = stripped_size(os.path.join(build, "oa"))
    curl_size, curl_parts = curl_footprint()
    lines = loc.count(REPO)
    elapsed = time.time() - started
    report = render(args, clients, res, conns, lat_oa, lat_curl, prof,
                    prof_total, oa_size, curl_size, curl_parts, lines,
                    elapsed, {"text1m": len(expected["text1m"]),
                              "text1m.bytes": int(expected["text1m.bytes"]),
                              "static": statics},
                    ins, depth)
    with open(args.out, "w") as f:
        f.write(report)
    if depth.get("now") and args.out == DEFAULT_OUT:
        update_security(depth_table(depth, args.baseline))
    shutil.rmtree(tmp, ignore_errors=True)
    log("bench: wrote %s in %.0f s" % (os.path.relpath(args.out), elapsed))
    wrong = [k for k, r in res.items() if r.get("wrong")]
    return 1 if wrong else 0


C_NAME = "C oa_next"
SECURITY = os.path.join(REPO, "docs", "security.md")
MARK = ("<!-- bench/run.py: json depth -->", "<!-- end -->")


def measure_depth(build, base, tmp):
    """bench/jsondepth on this library and, given base, on that one."""
    log("bench: JSON reader against nesting")
    depth = {"now": jsondepth([os.path.join(build, "bench_jsondepth")])}
    if base:
        # the older reader is quadratic in depth: 40,000 levels take
        # seconds, 100,000 about ten
        prog = os.path.join(tmp, "jsondepth-base")
        r = subprocess.run(["cc", "-std=c99", "-D_POSIX_C_SOURCE=200809L",
                            "-O2", "-I", base, os.path.join(
                                HERE, "jsondepth.c"), os.path.join(
                                base, "build", "libopenagent.a"),
                            "-lbearssl", "-o", prog], capture_output=True)
        if r.returncode == 0:
            depth["base"] = jsondepth([prog, "256", "40000"])
    return depth


def depth_table(depth, rev):
    """The nesting measurements as Markdown, ending with the bound."""
    o = ["bench/jsondepth.c parses each input into a fresh reader (nothing "
         "reused from an earlier parse) until 0.2 s of CPU have gone, under "
         "the default limits (max_json_depth 256, max_json_tokens 65536). "
         "flatN is an event whose junk member is an array of short strings, "
         "the same size as deepN, where it is N nested arrays (the hostile "
         "event); nests is arrays nested exactly 256 deep, back to back up "
         "to the token limit: the most jsmn's walk up the closed levels at "
         "each ']' can cost.\n"]
    now, then = depth["now"], depth.get("base", {})
    head = "| input | bytes | result | µs per parse | µs per KB | × flat |"
    if then:
        head += " at %s: result | µs per KB | × now |" % rev
    o.append(head)
    o.append("|---|---|---|---|---|---|" + ("---|---|---|" if then else ""))
    for name, (n, res, us, kb) in now.items():
        flat = now.get("flat" + name[4:]) if name.startswith("deep") \
            else None
        row = "| %s | %d | %s | %.1f | %.3f | %s |" % (
            name, n, res, us, kb, ratio(kb, flat[3]) if flat else "")
        if then:
            t = then.get(name)
            row += (" %s | %.3f | %s |" % (t[1], t[3], ratio(t[3], kb))
                    if t else " not run | | |")
        o.append(row)
    worst = max(kb for _, _, _, kb in now.values())
    o.append("\nThe bound: at most %.0f µs of CPU per KB of JSON, whatever "
             "its nesting (the nests row)." % worst)
    return "\n".join(o)


def update_security(block):
    """Put block between the markers in docs/security.md."""
    with open(SECURITY) as f:
        text = f.read()
    a, b = text.find(MARK[0]), text.find(MARK[1])
    if a < 0 or b < a:
        log("bench: docs/security.md has no %s marker" % MARK[0])
        return
    with open(SECURITY, "w") as f:
        f.write(text[:a + len(MARK[0])] + "\n" + block + "\n" + text[b:])


def baseline_name(rev):
    return "C oa_next @%s" % rev


def render(args, clients, res, conns, lat_oa, lat_curl, prof, prof_total,
           oa_size, curl_size, curl_parts, lines, elapsed, sizes, ins,
           depth):
    cpu_model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            cpu_model = m.group(1) if m else "?"
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    C = "C oa_next"
    o = []
    w = o.append
    w("# openagent benchmark results\n")
    w("Written by `bench/run.py` (run by `make bench`); every figure below "
      "comes from this one run. Do not edit by hand: run it again.\n")
    w("- Date: %s" % time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    w("- Command: `make bench`, which ran `%s`" % " ".join(
        ["python3", os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:]))
    w("- Machine: %s, %d CPUs, %.1f GB RAM; %s %s" % (
        cpu_model, os.cpu_count(), mem, platform.system(),
        platform.release()))
    w("- Compiler: %s; library built with the Makefile's flags (-O2 -g)"
      % sh(["cc", "--version"]))
    w("- Peers: %s; Node %s with openai SDK %s; %s" % (
        sh(["curl", "--version"]) or "curl: none",
        sh(["node", "--version"]) or "none", sdk_version(),
        "Python " + platform.python_version()))
    w("- Runs: %d per client on the 100k workloads and the empty one; %d on "
      "text1m and tools1000 (fewer repetitions, to keep `make bench` "
      "within ~10 minutes on 2 cores; the 1,000,000-delta stream itself "
      "is not shortened). Whole run: %.0f s." % (
          args.runs, args.big_runs, elapsed))
    w("- Figures: median (min–max); \"× curl\" divides by curl's median "
      "in the same run. CPU (user+sys) and peak RSS come from "
      "getrusage(RUSAGE_CHILDREN) after waitpid() in bench/runstat.c, a "
      "small launcher (a child forked by Python would inherit Python's "
      "peak RSS); the server is another process, on the other core.\n")

    w("## Clients\n")
    w("- **curl** `curl -sN` to /dev/null: the transport floor, and the "
      "base of every ratio. Checked by body size; on tools1000 it fetches "
      "the same 1,001 responses, asking for each round by header, over one "
      "connection (its request bodies stay small, unlike the others').")
    w("- **curl -s**: the same without -N, so curl writes its output in "
      "large pieces instead of once per received piece; shown because -N "
      "costs curl a write() per chunk.")
    w("- **node-openai**: the official openai Node SDK, "
      "`chat.completions.create({stream: true})` and `for await` "
      "(bench/peers/node_client.mjs).")
    w("- **python-stdlib**: http.client with one json.loads per event, "
      "a lower bound on any Python SDK (bench/peers/py_client.py).")
    w("- **oa --jsonl**: the command-line client, one JSON line per block, "
      "flushed before each wait for the server (`oa_ready()`), as oa "
      "does.")
    w("- **C oa_next**: bench/consumer.c, the minimal oa_next() loop (with "
      "`stateless` on for the text streams, so no history is kept) with a "
      "counting allocator.\n")
    w("Every output is compared byte for byte with what the server "
      "generated (text, arguments, tool calls); a wrong output is marked "
      "in the table and the whole bench exits non-zero.\n")

    w("## Workloads\n")
    w("Realistic chunks (id, model, system_fingerprint, logprobs: null) "
      "whose deltas mix ASCII words, escapes (\\n, \\\", \\\\, \\t, \\/), "
      "raw UTF-8 and \\u escapes with a surrogate pair. One SSE event per "
      "HTTP chunk (`ev`) unless marked `big` (64 KB HTTP chunks).\n")
    for wl, mode, title in [
            ("text100k", "ev", "100,000 content deltas"),
            ("text100k", "big", "100,000 content deltas, 64 KB HTTP chunks"),
            ("text1m", "ev", "1,000,000 content deltas"),
            ("args100k", "ev", "one tool call, arguments in 100,000 "
             "fragments"),
            ("tools1000", "ev", "1,000 tool round trips in auto mode, "
             "one kept-alive connection"),
            ("empty", "ev", "one delta: start-up cost, subtracted below")]:
        w("### %s `%s` — %s\n" % (wl, mode, title))
        w(table(res, clients, wl, mode) + "\n")
        if wl == "tools1000":
            w("Connections the server saw per client (requests on each): "
              + "; ".join("%s %s" % (k, v) for k, v in conns.items()) + "\n")

    w("## Targets\n")
    cu = {wl: per_chunk_us(res, "curl", wl) for wl in ("text100k", "text1m")}
    for wl in ("text100k", "text1m"):
        w("CPU per streamed chunk on %s, start-up subtracted:\n" % wl)
        w("| client | µs per chunk | × curl | × C oa_next |")
        w("|---|---|---|---|")
        me = per_chunk_us(res, C, wl)
        for c in clients:
            v = per_chunk_us(res, c.name, wl)
            if v is not None:
                w("| %s | %.3f | %s | %s |" % (c.name, v, ratio(v, cu[wl]),
                                               ratio(v, me or 0)))
        w("")
    me = per_chunk_us(res, C, "text1m")
    node = per_chunk_us(res, "node-openai", "text1m")
    if me is not None and cu["text1m"]:
        w("- **CPU within 2× of curl**: C oa_next is at %s of curl per chunk "
          "(text1m) — %s." % (ratio(me, cu["text1m"]),
                               "met" if me <= 2 * cu["text1m"] else
                               "missed by %s" % ratio(me, 2 * cu["text1m"])))
    if me is not None and node is not None:
        w("- **At least 20× below the openai Node SDK**: the SDK spends %s "
          "of oa_next's CPU per chunk — %s." % (
              ratio(node, me), "met" if node >= 20 * me else "missed"))
    if args.baseline:
        was = per_chunk_us(res, baseline_name(args.baseline), "text1m")
        if me is not None and was:
            w("- **At most 0.6× the CPU per chunk of %s** (the same C "
              "consumer built from that commit, in this run): %.3f µs "
              "against %.3f µs on text1m = %s — %s." % (
                  args.baseline, me, was, ratio(me, was),
                  "met" if me <= 0.6 * was else "missed"))
        now, then = ins.get(C), ins.get(baseline_name(args.baseline))
        if now and then and now[0] and then[0]:
            a = (now[0] - now[1]) / CHUNKS["text100k"]
            b = (then[0] - then[1]) / CHUNKS["text100k"]
            w("- Instructions per chunk (callgrind, text100k, start-up "
              "subtracted): %.0f now, %.0f at %s = %s." % (
                  a, b, args.baseline, ratio(a, b)))
    r1 = res.get((C, "text100k", "ev"), {})
    r2 = res.get((C, "text1m", "ev"), {})
    o1 = res.get(("oa --jsonl", "text100k", "ev"), {})
    o2 = res.get(("oa --jsonl", "text1m", "ev"), {})
    if "rss" in r1 and "rss" in r2:
        w("- **Peak RSS under 2 MB on 1,000,000 chunks, constant in "
          "length**: C oa_next %.2f MB at 100k and %.2f MB at 1M; oa --jsonl "
          "%.2f MB and %.2f MB — %s." % (
              r1["rss"]["median"] / 1024, r2["rss"]["median"] / 1024,
              o1.get("rss", {}).get("median", 0) / 1024,
              o2.get("rss", {}).get("median", 0) / 1024,
              "met" if r2["rss"]["median"] < 2048 and
              r2["rss"]["median"] <= 1.1 * r1["rss"]["median"] else
              "missed; see the heap figures below"))
    stats = {}
    for wl in ("text100k", "text1m", "args100k", "tools1000"):
        s = res.get((C, wl, "ev"), {}).get("stats")
        if s:
            stats[wl] = s[0]
    if stats:
        w("- **Zero allocations per chunk in steady state** (counting "
          "allocator, C oa_next, first 1,000 blocks excluded):")
        for wl, s in stats.items():
            n, sb = int(s["allocs"]), int(s["steady_blocks"])
            if wl.startswith("text"):
                w("  - %s: %d allocation calls in all; %s from block 1,000 "
                  "to the last content block (%d blocks) = %.6f per chunk;"
                  " heap high-water %.2f MB" % (
                      wl, n, s["steady_allocs"], sb,
                      int(s["steady_allocs"]) / sb if sb else 0,
                      int(s["heap_peak"]) / 2**20))
            else:
                w("  - %s: %d allocation calls in all = %.4f per %s; heap "
                  "high-water %.2f MB" % (
                      wl, n, n / CHUNKS[wl], "fragment" if wl == "args100k"
                      else "round trip", int(s["heap_peak"]) / 2**20))
        if "text1m" in stats:
            w("  - The C consumer runs with `stateless` (no history), so the "
              "reply text (%.2f MB for text1m) is never gathered and the "
              "heap stays flat; with history kept (`oa --jsonl`) the reply "
              "grows in one doubling buffer and becomes a history message, "
              "so the heap grows with the reply, not with the chunk "
              "count. The rest of the C consumer's RSS is the process "
              "itself (libc, its 1 MB stdout buffer, stack)." % (
                  sizes["text1m"] / 2**20))
    if lat_oa:
        w("- **First-block latency under 1 ms beyond the transport** (%d "
          "events, 50 ms apart; server stamp CLOCK_MONOTONIC at write → "
          "client stamp when it has the event):" % len(lat_oa))
        w("  - oa_next(): median %.1f µs, p99 %.1f µs" % (
            pct(lat_oa, 50) / 1e3, pct(lat_oa, 99) / 1e3))
        if lat_curl:
            w("  - curl -sN piped to a reader (transport floor): median "
              "%.1f µs, p99 %.1f µs" % (pct(lat_curl, 50) / 1e3,
                                        pct(lat_curl, 99) / 1e3))
            d50 = (pct(lat_oa, 50) - pct(lat_curl, 50)) / 1e3
            d99 = (pct(lat_oa, 99) - pct(lat_curl, 99)) / 1e3
            w("  - beyond curl: median %+.1f µs, p99 %+.1f µs (%s median "
              "and %s p99 of curl's) — %s." % (
                  d50, d99, ratio(pct(lat_oa, 50), pct(lat_curl, 50)),
                  ratio(pct(lat_oa, 99), pct(lat_curl, 99)),
                  "met" if d99 < 1000 else "missed"))
    w("")

    w("## Size and code\n")
    w("- Stripped `build/oa`: %d bytes (%s of curl's %d bytes for %s, "
      "stripped)." % (oa_size, ratio(oa_size, curl_size), curl_size,
                      curl_parts))
    core = loc.core_sources(REPO)
    w("- Library: %d lines of code (non-blank, non-comment; bench/loc.py), "
      "of which the core (what one streamed turn with tools needs) %d: "
      "%s. No curl figure to compare: its source is not on this "
      "machine.\n" % (sum(lines.values()),
                       sum(n for f, n in lines.items() if f in core),
                       ", ".join("%s %d" % kv for kv in lines.items())))

    st = sizes.get("static", {})
    if st:
        w("## Static binary\n")
        w("Built with musl (`musl-gcc -Os`, `--gc-sections`, stripped; "
          "BearSSL from Debian's libbearssl.a): no dynamic section at all. "
          "test/test_package.py runs the TLS one over http and https.\n")
        w("| build | bytes |")
        w("|---|---|")
        for key, what in (("tls", "`make static`: `oa`, every module, "
                                  "TLS"),
                          ("notls", "`make static OA_NO_TLS=1`: `oa` "
                                    "without TLS"),
                          ("core", "test/core_agent.c on the core alone "
                                   "(dist/core/openagent.c): streaming "
                                   "and one tool")):
            if key in st:
                w("| %s | %s (%.0f KiB) |" % (what, format(st[key], ","),
                                              st[key] / 1024))
        w("")

    w("## Is the server the bottleneck?\n")
    cw = res.get(("curl", "text1m", "ev"), {})
    if "wall" in cw:
        fastest = min((r["wall"]["median"], k[0]) for k, r in res.items()
                      if k[1:] == ("text1m", "ev") and "wall" in r and
                      not k[0].startswith("curl"))
        w("curl drains the 1,000,000-event stream (%.0f MB of body) in "
          "%.3f s of wall time, %.0f MB/s (curl -s: %.3f s); the fastest "
          "parsing client (%s) takes %.3f s (%s), the SDKs %s and %s. Where "
          "a client is within a small factor of curl, its wall time is an "
          "upper bound on its cost; its CPU time is not affected.\n" % (
              sizes["text1m.bytes"] / 1e6, cw["wall"]["median"],
              sizes["text1m.bytes"] / 1e6 / cw["wall"]["median"],
              res.get(("curl -s", "text1m", "ev"), {}).get(
                  "wall", {}).get("median", 0),
              fastest[1], fastest[0], ratio(fastest[0],
                                            cw["wall"]["median"]),
              ratio(res.get(("node-openai", "text1m", "ev"), {}).get(
                  "wall", {}).get("median", 0), cw["wall"]["median"]),
              ratio(res.get(("python-stdlib", "text1m", "ev"), {}).get(
                  "wall", {}).get("median", 0), cw["wall"]["median"])))

    if depth.get("now"):
        w("## JSON nesting: CPU per KB\n")
        w(depth_table(depth, args.baseline))
        w("")

    if prof:
        w("## Where oa_next's instructions go\n")
        w("callgrind on C oa_next, text100k `ev`, %s instructions in all "
          "(self cost, top functions):\n" % format(prof_total, ","))
        w("| share | file | function |")
        w("|---|---|---|")
        for share, f, fn in prof:
            w("| %.2f%% | %s | %s |" % (share, os.path.basename(f), fn))
        w("")
    return "\n".join(o) + "\n"


if __name__ == "__main__":
    sys.exit(main())
