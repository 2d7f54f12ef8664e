#!/usr/bin/env python3
"""Peak memory of log_analyzer_agent against the size of its input: a
generated log of 10 MB, 100 MB and 1 GB (bench/genlog.py, written to a
temporary file), each read with --summary-only under bench_runstat. The
analyzer streams its input, so the peak should not grow with the file.

    python3 bench/logmem.py --build build [--out bench/RESULTS.md]

Replaces the "## Log analyzer memory" section of the results file (or
appends it), so it can run alone or after bench/run.py."""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [10 * 10**6, 100 * 10**6, 10**9]
TITLE = "## Log analyzer memory"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    args = ap.parse_args()
    runstat = os.path.join(args.build, "bench_runstat")
    agent = os.path.join(args.build, "log_analyzer_agent")
    rows = []
    with tempfile.TemporaryDirectory(prefix="oa_logmem.") as tmp:
        log, stat = os.path.join(tmp, "app.log"), os.path.join(tmp, "stat")
        for n in SIZES:
            with open(log, "wb") as f:
                subprocess.run([sys.executable,
                                os.path.join(HERE, "genlog.py"), str(n)],
                               stdout=f, check=True)
            p = subprocess.run([runstat, stat, agent, "--summary-only", log],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            with open(stat) as f:
                code, cpu, wall, rss = f.read().split()
            if int(code) != 0 or b"entries" not in p.stdout.lower():
                sys.exit("logmem: the analyzer failed on %d bytes: %s"
                         % (n, p.stderr.decode(errors="replace")))
            rows.append((n, int(rss), float(cpu), float(wall)))
            print("logmem: %d bytes: peak RSS %s KB, cpu %s s" %
                  (n, rss, cpu), flush=True)
    base = rows[0][1]
    text = [TITLE, "",
            "`python3 bench/logmem.py`: `log_analyzer_agent --summary-only` "
            "on a generated mixed-format log (bench/genlog.py), peak RSS "
            "from getrusage after waitpid.", "",
            "| input | peak RSS | × 10 MB run | CPU | MB/s |",
            "|---|---|---|---|---|"]
    for n, rss, cpu, wall in rows:
        text.append("| %d MB | %d KB | %.2f× | %.1f s | %.0f |" % (
            n // 10**6, rss, rss / base, cpu, n / 10**6 / wall))
    text.append("")
    text.append("- Constant memory in file size: %s (1 GB peak is %.2f× "
                "the 10 MB peak)." % (
                    "met" if rows[-1][1] <= 1.1 * base else "missed",
                    rows[-1][1] / base))
    section = "\n".join(text) + "\n"
    old = open(args.out, encoding="utf-8").read() \
        if os.path.exists(args.out) else ""
    i = old.find(TITLE)
    if i >= 0:
        j = old.find("\n## ", i + len(TITLE))
        old = old[:i] + (old[j + 1:] if j >= 0 else "")
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(old.rstrip("\n") + "\n\n" + section)


if __name__ == "__main__":
    main()
