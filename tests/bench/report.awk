# Turns the samples of tests/bench/run.sh into the report.
# Input: one line per measurement, tab-separated:
#   ID STATUS WALL_S CPU_S MAXRSS_KB ROUND
# Variables (-v): see run.sh.

function sortn(a, m,    i, j, v) {
  for (i = 2; i <= m; i++) {
    v = a[i]
    for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]
    a[j + 1] = v
  }
}

function why(st) {
  if (st == 98) return "output incomplete"
  if (st == 124) return "timed out"
  if (st == 97 || st == 125 || st == 127) return "could not run"
  return "exit " st
}

# summ(ID, COL): COL 3 wall, 4 cpu, 5 rss. Sets MED MIN MAX CNT, or WHY and
# returns 0 when there is nothing usable.
# With PAIR, only the rounds in which case PAIR was measured too.
function summ(id, col, pair,    i, m, t) {
  CNT = cnt[id] + 0
  if (id in bad) { WHY = "n/a (" why(bad[id]) ")"; return 0 }
  if (!CNT) { WHY = "n/a"; return 0 }
  m = 0
  for (i = 1; i <= CNT; i++)
    if (pair == "" || ((pair, rnd[id, i]) in inround)) t[++m] = val[id, i, col] + 0
  if (!m) { WHY = "n/a"; return 0 }
  sortn(t, m)
  MIN = t[1]; MAX = t[m]
  MED = (m % 2) ? t[(m + 1) / 2] : (t[m / 2] + t[m / 2 + 1]) / 2
  return 1
}

# Wall-time statistics of ID, noting its spread. Returns 1 when usable.
function wall(id) {
  if (!summ(id, 3)) return 0
  if (CNT > 1) {
    nfig++
    if (MIN > 0 && MAX / MIN - 1 > NOISE + 0) {
      nnoisy++
      NOISY = " ~"
      if (MAX / MIN > worst) { worst = MAX / MIN; worst_id = id }
    } else NOISY = ""
  } else NOISY = ""
  return 1
}

# s padded with spaces to w columns, counting UTF-8 characters, not bytes.
function upad(s, w,    t, n) {
  t = s
  n = length(s) - gsub(/[\200-\277]/, "", t)
  while (n++ < w) s = s " "
  return s
}

# One line of a comparison: label, ratio of medians, ratio of the fastest
# runs (less hurt by noise, which only ever adds time), goal, verdict.
function rline(label, r, rbest, goaltxt, tstat,    line) {
  line = sprintf("  %s %s %s %s %s", upad(label, 36), upad(r, 10),
    upad(rbest == "" ? "" : "(" rbest ")", 22), upad(goaltxt, 20), tstat)
  sub(/ +$/, "", line)
  print line
}

function range3(a, b) { return sprintf("[%.3f-%.3f]", a, b) }

function target(label, shown, ok, goal) {
  ntarget++
  if (ok == "") { tstat = "n/a"; nna++ }
  else if (ok) { tstat = "PASS"; npass++ }
  else { tstat = "MISS"; nmiss++ }
  tline[ntarget] = sprintf("  %-4s  %-46s %s %s", tstat, label, upad(shown, 14), goal)
  return tstat
}

function na_reason(id, fallback) {
  if (id in bad) return "n/a (" why(bad[id]) ")"
  return fallback != "" ? "n/a (" fallback ")" : "n/a"
}

# ---- section 1 ----
function spawn_block(j,    t, id, n, jps, cpu, rss, i, ref, ratio, cjps, ok, best, line, r, rb) {
  printf "\n  -j%d            wall s  [min-max]                jobs/s  own CPU/job   peak RSS\n", j
  for (i = 1; i <= ntools; i++) {
    t = tools[i]; id = "spawn." t ".j" j
    n = (t == "parallel") ? N_PAR : N_SPAWN
    if (!wall(id)) {
      printf "  %-14s %s\n", tname[t], na_reason(id, t ~ /corun/ ? CORUN_NA : "")
      continue
    }
    jps = n / MED; JPS[t, j] = jps; JPSB[t, j] = n / MIN
    printf "  %-14s %7.3f %-17s%-2s %8.0f", tname[t], MED, range3(MIN, MAX), NOISY, jps
    summ(id, 4); cpu = MED * 1e6 / n; CPU[t, j] = cpu
    summ(id, 5); rss = MED / 1024; RSSMAX[t, j] = MAX / 1024
    printf " %8.1f µs %8.1f MiB%s\n", cpu, rss, (t == "parallel" && cnt[id] < RUNS ? sprintf("   (%s%d round%s)", N_PAR != N_SPAWN ? N_PAR " jobs, " : "", cnt[id], cnt[id] == 1 ? "" : "s") : "")
  }
  printf "\n"
  cjps = JPS["corun", j]
  printf "  jobs/s, corun/other\n"
  for (i = 1; i <= ntools; i++) {
    t = tools[i]
    if (t == "corun") continue
    ref = JPS[t, j]
    if (cjps == "" || ref == "") { ratio = "n/a"; best = ""; ok = "" }
    else {
      r = cjps / ref; rb = JPSB["corun", j] / JPSB[t, j]
      if (cnt["spawn." t ".j" j] < cnt["spawn.corun.j" j]) {
        # measured in fewer rounds: compare with corun in those rounds only
        summ("spawn.corun.j" j, 3, "spawn." t ".j" j)
        r = (N_SPAWN / MED) / ref; rb = (N_SPAWN / MIN) / JPSB[t, j]
      }
      ratio = sprintf("%.2fx", r); ok = (r >= goal[t])
      best = sprintf("best runs %.2fx", rb)
    }
    if (goal[t] != "")
      rline("corun/" tname[t], ratio, best, sprintf("target ≥ %.2fx", goal[t]),
        target(sprintf("spawn -j%d: corun/%s jobs/s", j, tname[t]), ratio, ok, sprintf("≥ %.2fx", goal[t])))
    else
      rline("corun/" tname[t], ratio, best, "", "")
  }
  # What the reference itself reaches against the same peers: a target
  # above it asks corun to beat the floor it is measured against.
  line = ""
  for (i = 1; i <= ntools; i++) {
    t = tools[i]
    if (t == "corun" || t == "ref_pipes" || JPS["ref_pipes", j] == "" || JPS[t, j] == "") continue
    r = JPS["ref_pipes", j] / JPS[t, j]
    if (cnt["spawn." t ".j" j] < cnt["spawn.ref_pipes.j" j] && summ("spawn.ref_pipes.j" j, 3, "spawn." t ".j" j))
      r = (N_SPAWN / MED) / JPS[t, j]
    line = line sprintf("%s%s %.2fx", line == "" ? "" : ", ", tname[t], r)
  }
  if (line != "") printf "  for scale, ref_pipes/other: %s\n", line
  if (CPU["corun", j] == "") { shown = "n/a"; ok = "" }
  else { shown = sprintf("%.1f µs", CPU["corun", j]); ok = (CPU["corun", j] <= 70) }
  rline("corun own CPU per job", shown,
    CPU["ref_pipes", j] == "" ? "" : sprintf("ref_pipes %.1f µs", CPU["ref_pipes", j]), "target ≤ 70 µs",
    target(sprintf("spawn -j%d: corun own CPU per job", j), shown, ok, "≤ 70 µs"))
}

# ---- section 6 ----
# jobs/s of case ID (N_SPAWN items) in EJ/EJB (median / best), "" when n/a.
function each_rate(id) {
  EJ = ""; EJB = ""
  if (!summ(id, 3)) return 0
  EJ = N_SPAWN / MED; EJB = N_SPAWN / MIN
  return 1
}

# One ratio line: jobs/s of case A over case B; with B measured in fewer
# rounds (GNU parallel), A in those rounds only.
function each_ratio(label, a, b,    ra, rb, ba, bb) {
  if (!each_rate(b)) { rline(label, "n/a", "", "", ""); return }
  rb = EJ; bb = EJB
  if (cnt[b] < cnt[a]) { if (!summ(a, 3, b)) { rline(label, "n/a", "", "", ""); return }
    ra = N_SPAWN / MED; ba = N_SPAWN / MIN }
  else { if (!each_rate(a)) { rline(label, "n/a", "", "", ""); return } ra = EJ; ba = EJB }
  rline(label, sprintf("%.2fx", ra / rb), sprintf("best runs %.2fx", ba / bb), "", "")
}

function each_block(j,    i, t, id, cpu, rss) {
  printf "\n  -j%d                          wall s  [min-max]                jobs/s  own CPU/job   peak RSS\n", j
  for (i = 1; i <= neach; i++) {
    t = each_tools[i]; id = "each." t ".j" j
    if (!wall(id)) {
      printf "  %-29s %s\n", ename[t], na_reason(id, t == "corun" ? EACH_NA : t == "file" ? CORUN_NA : "")
      continue
    }
    printf "  %-29s %7.3f %-17s%-2s %8.0f", ename[t], MED, range3(MIN, MAX), NOISY, N_SPAWN / MED
    summ(id, 4); cpu = MED * 1e6 / N_SPAWN
    summ(id, 5); rss = MED / 1024
    printf " %8.1f µs %8.1f MiB%s\n", cpu, rss, (cnt[id] < RUNS ? sprintf("   (%d round%s)", cnt[id], cnt[id] == 1 ? "" : "s") : "")
  }
  printf "\n  jobs/s, corun --each/other\n"
  each_ratio("corun --each/corun job file", "each.corun.j" j, "each.file.j" j)
  each_ratio("corun --each/xargs -P -I{}", "each.corun.j" j, "each.xargs.j" j)
  each_ratio("corun --each/GNU parallel", "each.corun.j" j, "each.parallel.j" j)
  each_ratio("corun job file (sh -c)/argv (1.)", "each.file.j" j, "spawn.corun.j" j)
}

{
  id = $1
  k = ++cnt[id]
  val[id, k, 3] = $3; val[id, k, 4] = $4; val[id, k, 5] = $5
  rnd[id, k] = $6; inround[id, $6] = 1
  if ($2 != 0 && !(id in bad)) bad[id] = $2
}

END {
  NOISY = ""; nfig = 0; nnoisy = 0; worst = 0
  ntools = split("corun ref_spawn ref_pipes make xargs ninja parallel", tools, " ")
  tname["corun"] = "corun"; tname["ref_spawn"] = "ref_spawn"; tname["ref_pipes"] = "ref_pipes"
  tname["make"] = "make -j"; tname["xargs"] = "xargs -P"; tname["ninja"] = "ninja"
  tname["parallel"] = "GNU parallel"
  goal["ref_pipes"] = 0.90; goal["make"] = 1.0; goal["xargs"] = 1.4; goal["parallel"] = 8

  printf "corun benchmark: %d round(s), commands interleaved; figures are medians [min-max]%s\n",
    RUNS, (QUICK ? "\nQUICK MODE: small sizes, one round by default; the figures are a smoke test, not results" : "")
  printf "machine: %s\n%s\npeers: %s\n", MACHINE, LOADS, PEERS

  # 1
  printf "\n1. Spawn throughput: %d x /bin/true", N_SPAWN
  if (N_PAR != N_SPAWN)
    printf " (GNU parallel, being slow: %d jobs, scaled to jobs/s)\n", N_PAR
  else printf "\n"
  if (PAR_RUNS < RUNS)
    printf "   GNU parallel runs in the first %s only; its ratios compare corun in those rounds.\n", PAR_RUNS == 1 ? "round" : PAR_RUNS " rounds"
  printf "   corun: -jN --output none FILE (it pipes each job's stdout and stderr itself).\n"
  printf "   Every command's own stdout+stderr: one pipe that the harness reads and discards\n"
  printf "   (jobs of xargs and make inherit it; ninja and parallel capture their jobs' output).\n"
  printf "   ref_spawn, ref_pipes: each job in a new session, stdin /dev/null, like corun.\n"
  printf "   make -s with `@/bin/true' recipes; ninja --quiet (runs each edge via /bin/sh -c), .ninja_log removed before each run.\n"
  printf "   own CPU: user+sys of the command's own process, not its children's (/proc/PID/stat, schedstat).\n"
  spawn_block(2)
  spawn_block(8)

  # 2
  mib = GATHER_JOBS * GATHER_BYTES / 1048576
  printf "\n2. Output gathering: %d jobs x %d MiB at -j%d, written by bench_writer in 64 KiB writes;\n",
    GATHER_JOBS, GATHER_BYTES / 1048576, GATHER_J
  printf "   the commands' own stdout+stderr go to /dev/null; files on %s,\n", FILES_FS
  printf "   the same amount written and deleted right before each files case\n\n"
  printf "  %-50s wall s  [min-max]             MiB/s\n", ""
  n = split("gather.ref_pipes.discard gather.ref_pipes.files gather.corun.none gather.corun.logdir gather.corun.prefix", gids, " ")
  glabel["gather.ref_pipes.discard"] = "ref_pipes, discarding"
  glabel["gather.ref_pipes.files"] = "ref_pipes, to files"
  glabel["gather.corun.none"] = "corun --output none"
  glabel["gather.corun.logdir"] = "corun --output none --log-dir"
  glabel["gather.corun.prefix"] = "corun --output prefix, " LINE "-byte lines > /dev/null"
  gna["gather.corun.none"] = CORUN_NA; gna["gather.corun.logdir"] = LOGDIR_NA; gna["gather.corun.prefix"] = PREFIX_NA
  for (i = 1; i <= n; i++) {
    id = gids[i]
    if (!wall(id)) { printf "  %-50s %s\n", glabel[id], na_reason(id, gna[id]); continue }
    MIBS[id] = mib / MED; MIBB[id] = mib / MIN
    printf "  %-50s %6.3f %-17s%-2s %6.0f\n", glabel[id], MED, range3(MIN, MAX), NOISY, MIBS[id]
  }
  printf "\n"
  a = MIBS["gather.corun.none"]; b = MIBS["gather.ref_pipes.discard"]
  if (a != "" && b != "") rline("corun none/ref_pipes discarding", sprintf("%.2fx", a / b),
      sprintf("best runs %.2fx", MIBB["gather.corun.none"] / MIBB["gather.ref_pipes.discard"]), "", "")
  else rline("corun none/ref_pipes discarding", "n/a", "", "", "")
  a = MIBS["gather.corun.logdir"]; b = MIBS["gather.ref_pipes.files"]
  if (a != "" && b != "") {
    shown = sprintf("%.2fx", a / b); ok = (a / b >= 0.85)
    best = sprintf("best runs %.2fx", MIBB["gather.corun.logdir"] / MIBB["gather.ref_pipes.files"])
  } else { shown = "n/a"; ok = ""; best = "" }
  rline("corun log-dir/ref_pipes files", shown, best, "target ≥ 0.85x",
    target("gathering: corun --log-dir / ref_pipes files", shown, ok, "≥ 0.85x"))
  a = MIBS["gather.corun.prefix"]
  if (a != "") { shown = sprintf("%.0f MiB/s", a); ok = (a >= 500); best = sprintf("best run %.0f MiB/s", MIBB["gather.corun.prefix"]) }
  else { shown = "n/a"; ok = ""; best = "" }
  rline("corun prefix mode", shown, best, "target ≥ 500 MiB/s",
    target("gathering: corun --output prefix", shown, ok, "≥ 500 MiB/s"))

  # 3
  printf "\n3. Peak RSS of corun (ru_maxrss of the process, which bounds its children's too)\n\n"
  for (j = 2; j <= 8; j += 6) {
    id = "spawn.corun.j" j
    if (summ(id, 5))
      printf "  %-46s %6.1f MiB [%.1f-%.1f]\n", sprintf("%d x /bin/true at -j%d", N_SPAWN, j), MED / 1024, MIN / 1024, MAX / 1024
    else
      printf "  %-46s %s\n", sprintf("%d x /bin/true at -j%d", N_SPAWN, j), na_reason(id, CORUN_NA)
  }
  if (summ("spawn.corun.j2", 5)) { shown = sprintf("%.1f MiB", MAX / 1024); ok = (MAX <= 4096) } else { shown = "n/a"; ok = "" }
  rline(sprintf("largest at -j2"), shown, "", "target ≤ 4 MiB",
    target(sprintf("peak RSS, %d-job run at -j2 (largest seen)", N_SPAWN), shown, ok, "≤ 4 MiB"))
  id = "load.corun"
  lbl = sprintf("--check of %d named jobs, 99%% with a need", N_LOAD)
  if (summ(id, 5)) {
    printf "  %-46s %6.1f MiB [%.1f-%.1f]\n", lbl, MED / 1024, MIN / 1024, MAX / 1024
    wall(id)
    printf "  %-46s %6.3f s   [%.3f-%.3f]%s\n", "  time to load and plan it", MED, MIN, MAX, NOISY
    shown = sprintf("%.3f s", MED); ok = (MED < 0.5); best = sprintf("best run %.3f s", MIN)
  } else {
    printf "  %-46s %s\n", lbl, na_reason(id, CORUN_NA)
    shown = "n/a"; ok = ""; best = ""
  }
  rline("load and plan", shown, best, "target < 0.5 s",
    target(sprintf("%d-job file loads and plans, --check", N_LOAD), shown, ok, "< 0.5 s"))

  # 4
  printf "\n4. One trivial job, launch to exit (%d launches in a row per round, mean per launch)\n\n", LAUNCH_REPS
  if (wall("launch.corun")) { lc = MED / LAUNCH_REPS; lcb = MIN / LAUNCH_REPS; printf "  %-46s %7.3f ms [%.3f-%.3f]%s\n", "corun ONE-JOB-FILE", lc * 1000, MIN * 1000 / LAUNCH_REPS, MAX * 1000 / LAUNCH_REPS, NOISY }
  else { lc = ""; printf "  %-46s %s\n", "corun ONE-JOB-FILE", na_reason("launch.corun", CORUN_NA) }
  if (wall("launch.version")) printf "  %-46s %7.3f ms [%.3f-%.3f]%s\n", "corun --version (start-up alone)", MED * 1000 / LAUNCH_REPS, MIN * 1000 / LAUNCH_REPS, MAX * 1000 / LAUNCH_REPS, NOISY
  if (wall("launch.ref_spawn")) { lr = MED / LAUNCH_REPS; lrb = MIN / LAUNCH_REPS; printf "  %-46s %7.3f ms [%.3f-%.3f]%s\n", "ref_spawn -n 1", lr * 1000, MIN * 1000 / LAUNCH_REPS, MAX * 1000 / LAUNCH_REPS, NOISY }
  else { lr = ""; printf "  %-46s %s\n", "ref_spawn -n 1", na_reason("launch.ref_spawn", "") }
  if (lc != "" && lr != "") { shown = sprintf("%.2fx", lc / lr); ok = (lc / lr <= 1.2); best = sprintf("best runs %.2fx", lcb / lrb) }
  else { shown = "n/a"; ok = ""; best = "" }
  printf "\n"
  rline("time, corun/ref_spawn", shown, best, "target ≤ 1.20x",
    target("one trivial job: corun time / ref_spawn time", shown, ok, "≤ 1.20x"))

  # 5
  printf "\n5. Spawn cost of an embedding program holding a touched heap: embed_cost, %d x /bin/true\n", EMBED_N
  printf "   at -j2; corun: plan built in code, corun_run_blocking; plain: posix_spawn + wait, no corun\n\n"
  printf "  %-12s %-32s %s\n", "heap", "corun µs/job [min-max]", "plain posix_spawn µs/job [min-max]"
  nh = split(HEAPS, heaps, " ")
  for (i = 1; i <= nh; i++) {
    h = heaps[i]
    id = "embed.lib." h
    if (wall(id)) { US[h] = MED * 1e6 / EMBED_N; USB[h] = MIN * 1e6 / EMBED_N; c1 = sprintf("%7.1f [%.1f-%.1f]%s", US[h], MIN * 1e6 / EMBED_N, MAX * 1e6 / EMBED_N, NOISY) }
    else c1 = na_reason(id, EMBED_NA)
    id = "embed.ref." h
    if (wall(id)) { UR[h] = MED * 1e6 / EMBED_N; c2 = sprintf("%7.1f [%.1f-%.1f]%s", UR[h], MIN * 1e6 / EMBED_N, MAX * 1e6 / EMBED_N, NOISY) }
    else c2 = na_reason(id, "")
    printf "  %-12s %-31s %s\n", sprintf("%d MiB", h), c1, c2
  }
  printf "\n"
  base = US[heaps[1]]; baser = UR[heaps[1]]
  for (i = 2; i <= nh; i++) {
    h = heaps[i]
    if (base != "" && US[h] != "") {
      shown = sprintf("%.2fx", US[h] / base); ok = (US[h] / base <= 1.3)
      best = sprintf("best runs %.2fx", USB[h] / USB[heaps[1]])
    } else { shown = "n/a"; ok = ""; best = "" }
    lbl = sprintf("corun, %d MiB / %d MiB", h, heaps[1])
    if (h == 500)
      rline(lbl, shown, best, "target ≤ 1.30x",
        target("spawn cost with 500 MiB heap / with none", shown, ok, "≤ 1.30x"))
    else
      rline(lbl, shown, best, "", "")
    rline(sprintf("plain posix_spawn, %d MiB / %d MiB", h, heaps[1]),
      (baser != "" && UR[h] != "") ? sprintf("%.2fx", UR[h] / baser) : "n/a", "", "", "")
  }

  # 6
  neach = split("corun file xargs parallel", each_tools, " ")
  ename["corun"] = "corun --each '/bin/true {}'"; ename["file"] = "corun JOB-FILE (same jobs)"
  ename["xargs"] = "xargs -P -I{} /bin/true {}"; ename["parallel"] = "GNU parallel /bin/true {}"
  printf "\n6. Items on a pipe, one job each: `seq %d` through '/bin/true {}'\n", N_SPAWN
  printf "   corun --each runs TEMPLATE with /bin/sh -c (SPEC), so each job is sh then /bin/true:\n"
  printf "   one exec more than xargs -I{}, which runs /bin/true itself. The job file holds the same\n"
  printf "   %d jobs as shell commands (\"cmd\": \"/bin/true N\"), so it pays the same shell; the last\n", N_SPAWN
  printf "   ratio compares it with the argv job file of section 1 (no shell): the price of sh -c.\n"
  if (PAR_RUNS < RUNS)
    printf "   GNU parallel runs in the first %s only; its ratio compares corun in those rounds.\n", PAR_RUNS == 1 ? "round" : PAR_RUNS " rounds"
  each_block(2)
  each_block(8)

  # summary
  printf "\nTargets: %d PASS, %d MISS, %d n/a\n", npass, nmiss, nna
  for (i = 1; i <= ntarget; i++) print tline[i]
  if (RUNS < 2)
    printf "\nNoise: one round only, so no spread to judge by; use BENCH_RUNS=5 or more for figures to rely on.\n"
  else if (nnoisy > 0)
    printf "\nNoise: %d of %d figures spread more than %d%% (max/min, marked ~; worst %s, %.2fx).\n" \
      "The machine was too noisy for ratios near their targets to be trusted; rerun on an idle machine or with more BENCH_RUNS.\n",
      nnoisy, nfig, NOISE * 100, worst_id, worst
  else
    printf "\nNoise: all %d figures within %d%% (max/min).\n", nfig, NOISE * 100
  printf "Took %d s.\n", ELAPSED
}
