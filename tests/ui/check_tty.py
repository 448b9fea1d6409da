#!/usr/bin/env python3
"""Read what corun wrote to a terminal (the bytes tmux saw) and check its
status line against the contract:

  check_tty.py RAW --cols N [--names a,b] [--failed] [--seconds S]
               [--shrunk-to N] [--color] [--no-status]

The stream is cut into three kinds of pieces: a clear ("\\r\\x1b[K"), a
status line drawn ("\\r" + text + "\\x1b[K", no newline in it), and output
(everything up to and including a newline). Checked:

  - before every piece of output the status line is cleared (never mixed):
    no output starts while a status line stands, and no output piece holds
    a stray "\\r" or "\\x1b[K" (a status line drawn inside an open line);
  - the status line is gone at the end;
  - every status line fits the terminal: at most N-1 columns;
  - the names given appear in some status line ("running ...: NAME");
  - --failed: some status line counts a failure ("1 failed");
  - --seconds: the line is composed at most ~10 times a second (redraws of
    the same text after output do not count);
  - --shrunk-to M: the terminal became M columns wide during the run: the
    last status line fits M-1, an earlier one did not;
  - --color: "failed" and "running" are coloured;
  - --no-status: nothing of the status line at all.

Prints what it found; exits 1 with the reasons when a check fails."""
import argparse
import re
import sys

CLEAR = b"\r\x1b[K"
ESC = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")


def pieces(data):
    """Yield (kind, bytes): 'clear', 'draw' or 'out'."""
    i, n = 0, len(data)
    while i < n:
        if data.startswith(CLEAR, i):
            yield "clear", CLEAR
            i += len(CLEAR)
            continue
        if data[i] == 0x0D and data[i + 1:i + 2] != b"\n":
            end = data.find(b"\x1b[K", i)
            if end >= 0 and b"\n" not in data[i:end]:
                yield "draw", data[i + 1:end]
                i = end + 3
                continue
        # Output: through the next newline, or up to a lone carriage return.
        k = i
        while k < n:
            c = data[k]
            if c == 0x0A:
                k += 1
                break
            if c == 0x0D and k > i and data[k + 1:k + 2] != b"\n":
                break
            k += 1
        yield "out", data[i:k]
        i = k


def visible(b):
    return ESC.sub(b"", b).decode("utf-8", "replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("--cols", type=int, required=True)
    ap.add_argument("--names", default="")
    ap.add_argument("--failed", action="store_true")
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--shrunk-to", type=int)
    ap.add_argument("--color", action="store_true")
    ap.add_argument("--no-status", action="store_true")
    a = ap.parse_args()
    data = open(a.raw, "rb").read()
    bad = []
    draws, outs = [], 0
    standing = False
    line_open = False  # output left the cursor inside a line
    for kind, b in pieces(data):
        if kind == "clear":
            if line_open:
                bad.append("a clear inside an open output line (it erases output)")
            standing = False
        elif kind == "draw":
            if line_open:
                bad.append("a status line drawn inside an open output line: %r" % b[:80])
            draws.append(b)
            standing = True
        else:
            outs += 1
            if standing:
                bad.append("output while the status line stood (not cleared first): %r" % b[:80])
            if b"\x1b[K" in b or b"\r" in b.replace(b"\r\n", b"")[1:]:
                bad.append("status line bytes inside output: %r" % b[:80])
            line_open = not b.endswith(b"\n")
    texts = [visible(d) for d in draws]
    print("tty: %d status lines drawn, %d pieces of output, %d bytes" % (len(draws), outs, len(data)))
    if texts:
        widest = max(texts, key=len)
        print("tty: widest status line (%d columns): %s" % (len(widest), widest))
        print("tty: last status line: %s" % texts[-1])
    if a.no_status:
        if draws or CLEAR in data or b"\x1b[K" in data:
            bad.append("the status line was drawn although stderr is not a terminal")
        if re.search(rb"\[\d+/\d+\]", data):
            bad.append("status text ([n/m]) in the output")
    else:
        if not draws:
            bad.append("no status line was drawn")
        if standing:
            bad.append("the status line is still there at the end")
        for t in texts:
            if len(t) > a.cols - 1:
                bad.append("status line of %d columns in a %d-column terminal: %s" % (len(t), a.cols, t))
                break
        for t in texts:
            if not re.match(r"\[\d+/\d+\]", t):
                bad.append("status line does not start with [done/total]: %s" % t)
                break
        for name in filter(None, a.names.split(",")):
            if not any(re.search(r"running \d+: .*\b%s\b" % re.escape(name), t) for t in texts):
                bad.append("no status line names the running job %s" % name)
        if a.failed and not any(re.search(r"\] 1 failed", t) for t in texts):
            bad.append("no status line counts the failure")
        if a.seconds:
            changes = sum(1 for i, t in enumerate(texts) if i == 0 or t != texts[i - 1])
            limit = 11 * a.seconds + 3
            print("tty: %d compositions in %.1fs" % (changes, a.seconds))
            if changes > limit:
                bad.append("composed %d times in %.1fs (more than ~10 a second)" % (changes, a.seconds))
        if a.shrunk_to:
            if len(texts[-1]) > a.shrunk_to - 1:
                bad.append("after the terminal shrank to %d columns: %s" % (a.shrunk_to, texts[-1]))
            if not any(len(t) > a.shrunk_to - 1 for t in texts):
                bad.append("no status line was ever wider than %d columns" % (a.shrunk_to - 1))
        if a.color:
            raw = b"".join(draws)
            if b"\x1b[31m1 failed" not in raw:
                bad.append("the failure count is not red")
            if not re.search(rb"\x1b\[36mrunning \d+", raw):
                bad.append("the running count is not coloured")
    for b in bad:
        print("tty: " + b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
