/*
 * Every writer is valid for its consumer whatever the jobs print.
 *
 * Real jobs write the worst bytes there are on stdout and stderr: bytes
 * that are never UTF-8, lone continuation bytes, truncated sequences,
 * UTF-16 surrogates and overlong forms encoded as UTF-8, U+FFFE and
 * U+FFFF, NUL and every other control byte, `]]>`, `</script>`, `<`, `&`,
 * quotes and backslashes, lines longer than a line event holds and output
 * with no final newline. Their names use every character a name may hold,
 * and they end every way a job can end: ok, failed, killed, timed out,
 * retried, skipped, cancelled, and unable to start with an error message
 * that carries markup and control characters of its own.
 *
 * Each plan runs twice, through the library on a loop of the test's own
 * (corun_run_add_output() for the five formats) and through the command
 * line (--report --events --junit --trace --timeline, and --graph), and
 * every file is read by a real consumer: xmllint and Python's junitparser
 * for the JUnit XML, xmllint and ElementTree for the SVG, Python's strict
 * json (no control characters in strings, no NaN, no repeated keys, UTF-8
 * checked) for the report, each events line and the trace, Graphviz for
 * the DOT graph. The consumers' readings come back as one JSON summary
 * (text as hex of its UTF-8), and the content is checked exactly: names
 * come back as they are, every byte that is not UTF-8 comes back as
 * U+FFFD, what XML cannot hold as U+FFFD in XML, and the rest as written.
 *
 * The consumers (python3 with junitparser, xmllint, dot) are Debian's
 * python3-junitparser, libxml2-utils and graphviz; a test skips only when
 * one is missing, and CI installs them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corun.h"
#include "run_harness.h"
#include "testutil.h"

/* ---- byte strings (the harness's buf_t) ---------------------------------- */

static void b_str(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }

static void b_fmt(buf_t *b, const char *f, ...)
    __attribute__((format(printf, 2, 3)));
static void b_fmt(buf_t *b, const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  int n = vsnprintf(NULL, 0, f, ap);
  va_end(ap);
  assert_true(n >= 0);
  char *tmp = malloc((size_t)n + 1);
  assert_non_null(tmp);
  va_start(ap, f);
  vsnprintf(tmp, (size_t)n + 1, f, ap);
  va_end(ap);
  buf_add(b, tmp, (size_t)n);
  free(tmp);
}

/* Bytes shown with C escapes, for messages. */
static void show_bytes(const char *what, const char *s, size_t n) {
  buf_t b = {0};
  for (size_t i = 0; i < n && i < 600; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7F && c != '\\')
      buf_add(&b, &c, 1);
    else
      b_fmt(&b, "\\x%02X", c);
  }
  print_message("%s (%zu bytes): %s%s\n", what, n, b.p ? b.p : "",
                n > 600 ? "..." : "");
  buf_free(&b);
}

static void expect_bytes(const char *what, const char *got, size_t got_n,
                         const char *want, size_t want_n) {
  if (got == NULL && want == NULL)
    return;
  if (got != NULL && want != NULL && got_n == want_n &&
      memcmp(got, want, got_n) == 0)
    return;
  print_message("%s differs\n", what);
  if (want)
    show_bytes("  want", want, want_n);
  else
    print_message("  want: null\n");
  if (got)
    show_bytes("  got ", got, got_n);
  else
    print_message("  got : null\n");
  fail_msg("%s is not what was written", what);
}

/* ---- the hostile output -------------------------------------------------- */

/* U+FFFD, what every byte that is not UTF-8 becomes. */
#define R "\xEF\xBF\xBD"

/* A piece of output as the job writes it, as a JSON parser reads it back
 * from the report or events, and as an XML parser reads it back. */
typedef struct {
  const char *raw, *json, *xml;
  size_t n_raw, n_json, n_xml;
} piece_t;

#define PIECE(raw, json, xml)                                                 \
  { raw, json, xml, sizeof raw - 1, sizeof json - 1, sizeof xml - 1 }
#define SAME(raw) PIECE(raw, raw, raw)

static const piece_t PIECES[] = {
    SAME("<?xml?><a b='1' c=\"2\">&amp; &lt; & < > ]]> ]]]]><![CDATA[x]]>"),
    SAME("</script><script>alert('\"\\\\')</script> \\u0000 \\n %s %% $x `x`\n"),
    PIECE("\xFF", R, R),                       /* never in UTF-8 */
    PIECE("\x80", R, R),                       /* a lone continuation byte */
    PIECE("\xE2\x82" "A", R R "A", R R "A"),   /* cut short, then ASCII */
    PIECE("\xED\xA0\x80", R R R, R R R),       /* U+D800, a surrogate */
    PIECE("\xED\xBF\xBF", R R R, R R R),       /* U+DFFF */
    PIECE("\xED\xA0\xBD\xED\xB8\x80", R R R R R R, R R R R R R), /* a pair */
    PIECE("\xC0\xAF", R R, R R),               /* overlong '/' */
    PIECE("\xC1\xBF", R R, R R),
    PIECE("\xE0\x80\xAF", R R R, R R R),
    PIECE("\xF0\x80\x80\xAF", R R R R, R R R R),
    PIECE("\xF4\x90\x80\x80", R R R R, R R R R), /* past U+10FFFF */
    PIECE("\xF5\xF8\xFC\xFE", R R R R, R R R R),
    PIECE("\xEF\xBF\xBE", "\xEF\xBF\xBE", R),   /* U+FFFE: not an XML Char */
    PIECE("\xEF\xBF\xBF", "\xEF\xBF\xBF", R),   /* U+FFFF */
    SAME("\xEF\xBF\xBD"),                       /* U+FFFD itself */
    SAME("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"), /* é € 😀 */
    SAME("\xC2\x80\xC2\x85\xC2\x9F"),           /* C1 controls are XML Chars */
    SAME("\xE2\x80\xA8\xE2\x80\xA9"),           /* U+2028, U+2029 */
    SAME("\xED\x9F\xBF\xEE\x80\x80\xEF\xB7\x90\xF4\x8F\xBF\xBF"),
    PIECE("\0", "\0", R),                       /* NUL */
    SAME("a\r\nb\rc\n"),
    SAME("'\"\\'\\\"\\\\"),
};

/* The last bytes of stdout: a sequence cut short by the end of output. */
static const piece_t CUT_END = PIECE("\xF0\x9F\x98", R R R, R R R);

typedef struct {
  buf_t raw, json, xml;
} payload_t;

static void add_piece(payload_t *p, const piece_t *pc) {
  buf_add(&p->raw, pc->raw, pc->n_raw);
  buf_add(&p->json, pc->json, pc->n_json);
  buf_add(&p->xml, pc->xml, pc->n_xml);
}

/* The payload: every piece, then every control byte (XML keeps only tab,
 * newline and carriage return of them, and DEL), then `end` when given. */
static void payload(payload_t *p, const piece_t *end) {
  memset(p, 0, sizeof *p);
  for (size_t i = 0; i < sizeof PIECES / sizeof PIECES[0]; i++)
    add_piece(p, &PIECES[i]);
  for (unsigned c = 1; c <= 0x7F; c = c == 0x1F ? 0x7F : c + 1) {
    char ch = (char)c;
    bool xml_char = c == '\t' || c == '\n' || c == '\r' || c == 0x7F;
    buf_add(&p->raw, &ch, 1);
    buf_add(&p->json, &ch, 1);
    buf_add(&p->xml, xml_char ? &ch : R, xml_char ? 1 : 3);
  }
  if (end)
    add_piece(p, end);
}

static void payload_free(payload_t *p) {
  buf_free(&p->raw);
  buf_free(&p->json);
  buf_free(&p->xml);
}

/* A shell command that writes `n` bytes exactly: printf with every byte
 * as an octal escape, as a JSON string's content. */
static void b_printf_cmd(buf_t *cmd, const char *s, size_t n,
                         const char *redirect) {
  b_str(cmd, "printf '");
  for (size_t i = 0; i < n; i++)
    b_fmt(cmd, "\\\\%03o", (unsigned char)s[i]);
  b_fmt(cmd, "'%s; ", redirect);
}

/* ---- the tools ------------------------------------------------------------ */

static char *which(const char *name) {
  const char *path = getenv("PATH");
  char *copy = strdup(path ? path : "/usr/bin:/bin"), *save = NULL;
  char *found = NULL;
  for (char *d = strtok_r(copy, ":", &save); d && !found;
       d = strtok_r(NULL, ":", &save)) {
    char *p = NULL;
    if (asprintf(&p, "%s/%s", d, name) < 0)
      abort();
    if (access(p, X_OK) == 0)
      found = p;
    else
      free(p);
  }
  free(copy);
  return found;
}

static bool runs_ok(char *const argv[]) {
  tu_result_t r;
  tu_run(&r, argv, NULL, 30);
  bool ok = r.status == 0;
  tu_result_free(&r);
  return ok;
}

static struct {
  bool looked;
  char *python, *xmllint, *dot;
} tool;

/* A python3 that has junitparser: the one on PATH, else Debian's. */
static char *find_python(void) {
  char *cands[] = {which("python3"), strdup("/usr/bin/python3")};
  char *pick = NULL;
  for (size_t i = 0; i < 2; i++) {
    char *argv[] = {cands[i], "-c", "import junitparser", NULL};
    if (pick == NULL && cands[i] && runs_ok(argv))
      pick = cands[i];
    else
      free(cands[i]);
  }
  return pick;
}

/* Skip the test when a consumer is missing (CI installs them all). */
static void need_tools(void) {
  if (!tool.looked) {
    tool.looked = true;
    tool.python = find_python();
    tool.xmllint = which("xmllint");
    tool.dot = which("dot");
  }
  const char *missing = !tool.python    ? "python3 with junitparser"
                        : !tool.xmllint ? "xmllint"
                        : !tool.dot     ? "dot (Graphviz)"
                                        : NULL;
  if (missing) {
    print_message("skipped: %s not found (Debian: python3-junitparser, "
                  "libxml2-utils, graphviz)\n", missing);
    skip();
  }
}

/* ---- the per-test folder ---------------------------------------------------- */

typedef struct {
  char *dir;
  char *mark; /* CORUN_TEST_MARK's value for every job */
  payload_t out; /* stdout: ends with a cut sequence, no newline */
  payload_t err; /* stderr: ends with a newline */
} ctx_t;

static int ctx_new(void **state) {
  ctx_t *c = calloc(1, sizeof *c);
  c->dir = tu_tmpdir();
  c->mark = strdup(strchr(tu_marker(), '=') + 1);
  static const piece_t nl = SAME("\n");
  payload(&c->out, &CUT_END);
  payload(&c->err, &nl);
  *state = c;
  return 0;
}

static int ctx_free(void **state) {
  ctx_t *c = *state;
  char needle[128];
  snprintf(needle, sizeof needle, "CORUN_TEST_MARK=%s", c->mark);
  int left = tu_wait_unmarked(needle, 10);
  tu_rmdir(c->dir);
  free(c->dir);
  free(c->mark);
  payload_free(&c->out);
  payload_free(&c->err);
  free(c);
  return left == 0 ? 0 : -1; /* a job outlived its run */
}

static char *in_dir(const ctx_t *c, const char *name) {
  char *p = NULL;
  if (asprintf(&p, "%s/%s", c->dir, name) < 0)
    abort();
  return p;
}

/* The five files, in corun_format_t order. */
static const char *const FILES[CORUN_FORMAT_COUNT] = {
    "report.json", "events.jsonl", "junit.xml", "trace.json", "timeline.svg"};

/* ---- what each job does and how it must come back ------------------------ */

enum { NONE, OUT_PAYLOAD, ERR_PAYLOAD, LONG_LINES, MARKUP };

typedef struct {
  const char *name;
  int out, err;        /* what it writes: NONE, OUT_PAYLOAD, ERR_PAYLOAD, ... */
  const char *sh;      /* then this shell; NULL: "cmd" is among the keys */
  const char *keys;    /* more keys of the job object, or NULL */
  /* What the report says. */
  const char *status;
  int exit_code;       /* -1: null */
  const char *signal;  /* NULL: null */
  unsigned attempts;
  const char *error;   /* NULL: null */
  const char *reason;  /* NULL: null */
  /* What JUnit says: "failure", "error", "skipped" or NULL, its message
   * as written, and as an XML parser reads it (NULL: the same). */
  const char *junit;
  const char *message;
  const char *message_xml;
} job_t;

#define ALLCHARS                                                              \
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:/@+-"

/* argv[0] and cwd of the jobs that cannot start: as JSON in the job file,
 * as bytes, and as XML gives them back. */
#define BADPROG_JSON                                                          \
  "/nonexistent/\\u0001\\u001f<&\\\"'>]]></script>\\u007f\\r\\u00e9\\\\end"
#define BADPROG "/nonexistent/\x01\x1f<&\"'>]]></script>\x7f\r\xC3\xA9\\end"
#define BADPROG_XML "/nonexistent/" R R "<&\"'>]]></script>\x7f\r\xC3\xA9\\end"
#define BADCWD_JSON "/nonexistent\\u0002<\\u00e9>&\\u001b[1m"
#define BADCWD "/nonexistent\x02<\xC3\xA9>&\x1b[1m"
#define BADCWD_XML "/nonexistent" R "<\xC3\xA9>&" R "[1m"
#define ENOENT_TEXT ": No such file or directory"
#define NEED_FAILED "need " ALLCHARS " failed"

/* The long lines: two of 150000 bytes from the helper (149999 and a
 * newline), then 200000 bytes of "€" cut inside the last one. */
#define LONG_LINE 150000
#define EURO_BYTES 200000
#define LINE_MAX_DEFAULT 65536
#define TAIL_DEFAULT 65536
#define MARKUP_TEXT "<&>]]>\"'\n"

static const job_t HOSTILE[] = {
    {"a.b:c/d@e+f-g_h", OUT_PAYLOAD, ERR_PAYLOAD, "exit 0", NULL,
     "ok", 0, NULL, 1, NULL, NULL, NULL, NULL, NULL},
    {ALLCHARS, OUT_PAYLOAD, NONE, "exit 3", NULL,
     "failed", 3, NULL, 1, NULL, NULL, "failure", "exit 3", NULL},
    {"sig@kill", NONE, ERR_PAYLOAD, "kill -KILL $$", NULL,
     "failed", -1, "SIGKILL", 1, NULL, NULL, "failure", "SIGKILL", NULL},
    {"time:out", OUT_PAYLOAD, NONE, "exec sleep 30",
     "\"timeout\":0.3,\"kill_grace\":0.2",
     "timeout", -1, "SIGTERM", 1, NULL, NULL, "failure", "timed out", NULL},
    {"skip.me", NONE, NONE, "true", "\"needs\":[\"" ALLCHARS "\"]",
     "skipped", -1, NULL, 0, NULL, NEED_FAILED, "skipped", NEED_FAILED, NULL},
    {"no-such/cmd", NONE, NONE, NULL, "\"cmd\":[\"" BADPROG_JSON "\"]",
     "error", -1, NULL, 1, BADPROG ENOENT_TEXT, NULL,
     "error", BADPROG ENOENT_TEXT, BADPROG_XML ENOENT_TEXT},
    {"bad+cwd", NONE, NONE, "true", "\"cwd\":\"" BADCWD_JSON "\"",
     "error", -1, NULL, 1, "cwd " BADCWD ENOENT_TEXT, NULL,
     "error", "cwd " BADCWD ENOENT_TEXT, "cwd " BADCWD_XML ENOENT_TEXT},
    {"re_try", NONE, ERR_PAYLOAD, "exit 1", "\"retries\":1",
     "failed", 1, NULL, 2, NULL, NULL, "failure", "exit 1", NULL},
    {"long.lines", LONG_LINES, NONE,
     "\\\"$HELPER\\\" lines 2 150000; "
     "yes '\xE2\x82\xAC' | tr -d '\\\\n' | head -c 200000",
     NULL, "ok", 0, NULL, 1, NULL, NULL, NULL, NULL, NULL},
    {"-:/allow@fail+.", MARKUP, NONE, "exit 1",
     "\"allow_failure\":true,\"needs\":[\"a.b:c/d@e+f-g_h\"]",
     "failed", 1, NULL, 1, NULL, NULL, "failure", "exit 1", NULL},
};
#define N_HOSTILE (sizeof HOSTILE / sizeof HOSTILE[0])

/* Halt now after one failure: the victim is cancelled once it has
 * written everything; what needs it never starts. */
static const job_t HALTED[] = {
    {"victim:1", OUT_PAYLOAD, ERR_PAYLOAD, ": > ready; exec sleep 30",
     "\"kill_grace\":0.2",
     "cancelled", -1, "SIGTERM", 1, NULL, NULL, "skipped", "cancelled", NULL},
    {"trigger", NONE, NONE,
     "while [ ! -e ready ]; do sleep 0.01; done; exit 1", NULL,
     "failed", 1, NULL, 1, NULL, NULL, "failure", "exit 1", NULL},
    {"after/victim", NONE, NONE, "true", "\"needs\":[\"victim:1\"]",
     "skipped", -1, NULL, 0, NULL, "halted", "skipped", "halted", NULL},
};
#define N_HALTED (sizeof HALTED / sizeof HALTED[0])

/* The job file: `head` (keys of the plan) and the jobs, each with the
 * test's marker and the helper's path in its environment. */
static char *plan_text(const ctx_t *c, const char *head, const job_t *jobs,
                       size_t n) {
  char *helper = realpath(tu_helper(), NULL);
  assert_non_null(helper);
  buf_t f = {0};
  b_fmt(&f, "{\"corun\":1,%s,\"jobs\":[", head);
  for (size_t i = 0; i < n; i++) {
    const job_t *j = &jobs[i];
    b_fmt(&f, "%s\n  {\"name\":\"%s\",\"env\":{\"CORUN_TEST_MARK\":\"%s\","
              "\"HELPER\":\"%s\"}",
          i ? "," : "", j->name, c->mark, helper);
    if (j->sh) {
      b_str(&f, ",\"cmd\":\"");
      static const buf_t markup = {MARKUP_TEXT, sizeof MARKUP_TEXT - 1, 0};
      const buf_t *out = j->out == OUT_PAYLOAD ? &c->out.raw
                           : j->out == MARKUP    ? &markup
                                                 : NULL;
      if (out)
        b_printf_cmd(&f, out->p, out->len, "");
      if (j->err == ERR_PAYLOAD)
        b_printf_cmd(&f, c->err.raw.p, c->err.raw.len, " >&2");
      b_fmt(&f, "%s\"", j->sh);
    }
    if (j->keys)
      b_fmt(&f, ",%s", j->keys);
    b_str(&f, "}");
  }
  b_str(&f, "\n]}\n");
  free(helper);
  return f.p;
}

/* ---- running ---------------------------------------------------------------- */

/* Through the library, on a loop of the test's own. */
static int run_library(const ctx_t *c, const char *plan_text) {
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  corun_plan_t *plan = NULL;
  corun_error_t err = {0};
  int rc = corun_plan_load_buffer(&plan, plan_text, strlen(plan_text),
                                  "writers.json", c->dir, &err);
  for (size_t i = 0; i < err.count; i++)
    print_message("%s\n", err.messages[i]);
  assert_int_equal(rc, 0);
  corun_run_options_t opts = {0};
  corun_run_t *run = NULL;
  assert_int_equal(corun_run_new(&run, &loop, plan, &opts, &err), 0);
  FILE *files[CORUN_FORMAT_COUNT];
  for (int k = 0; k < CORUN_FORMAT_COUNT; k++) {
    char *p = in_dir(c, FILES[k]);
    files[k] = fopen(p, "w");
    free(p);
    assert_non_null(files[k]);
    assert_int_equal(corun_run_add_output(run, (corun_format_t)k, files[k]), 0);
  }
  assert_int_equal(corun_run_start(run), 0);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_true(corun_run_ended(run));
  int code = corun_run_exit_code(run);
  for (int k = 0; k < CORUN_FORMAT_COUNT; k++) {
    assert_int_equal(corun_run_output_error(run, (corun_format_t)k), 0);
    assert_int_equal(fclose(files[k]), 0);
  }
  assert_int_equal(corun_run_free(run), 0);
  corun_plan_free(plan);
  assert_int_equal(uv_loop_close(&loop), 0);
  return code;
}

static void show_run(const tu_result_t *r) {
  print_message("status %d\n", r->status);
  show_bytes("stdout", r->out, r->out_len);
  print_message("stderr:\n%.3000s\n", r->err);
}

/* Run argv (NULL-terminated) to its end; its stdout is handed back. */
static char *run_tool(char *const argv[], int want_status, size_t *out_len) {
  tu_result_t r;
  tu_run(&r, argv, NULL, 60);
  if (r.status != want_status) {
    print_message("%s:\n", argv[0]);
    show_run(&r);
    fail_msg("%s exited %d, not %d", argv[0], r.status, want_status);
  }
  char *out = r.out;
  if (out_len)
    *out_len = r.out_len;
  r.out = NULL;
  tu_result_free(&r);
  return out;
}

static char *write_plan(const ctx_t *c, const char *text) {
  char *p = tu_write(c->dir, "writers.json", text);
  assert_non_null(p);
  return p;
}

/* Through the command line, every file asked for. */
static int run_cli(const ctx_t *c, const char *plan_text) {
  char *plan = write_plan(c, plan_text);
  static const char *const OPTS[CORUN_FORMAT_COUNT] = {
      "--report", "--events", "--junit", "--trace", "--timeline"};
  char *argv[4 + 2 * CORUN_FORMAT_COUNT] = {(char *)tu_corun(), "-q"};
  size_t n = 2;
  for (int k = 0; k < CORUN_FORMAT_COUNT; k++) {
    argv[n++] = (char *)OPTS[k];
    argv[n++] = in_dir(c, FILES[k]);
  }
  argv[n++] = plan;
  argv[n] = NULL;
  tu_result_t r;
  tu_run(&r, argv, NULL, 60);
  int code = r.status;
  if (code != 1)
    show_run(&r);
  tu_result_free(&r);
  for (size_t i = 3; i < n; i += 2)
    free(argv[i]);
  free(plan);
  return code;
}

/* ---- the consumers ------------------------------------------------------------ */

/*
 * Python reads every file as its consumer would and prints what it read,
 * each text as the hex of its UTF-8 (so that NUL survives the way back).
 * Any file a consumer rejects is a traceback and a non-zero exit.
 */
static const char PY_READ[] =
    "import json, sys\n"
    "import xml.etree.ElementTree as ET\n"
    "import junitparser\n"
    "d = sys.argv[1]\n"
    "def h(s):\n"
    "    return None if s is None else s.encode('utf-8').hex()\n"
    "def no_constant(c):\n"
    "    raise ValueError('not JSON: ' + c)\n"
    "def no_repeats(pairs):\n"
    "    keys = [k for k, _ in pairs]\n"
    "    if len(set(keys)) != len(keys):\n"
    "        raise ValueError('repeated key in %r' % keys)\n"
    "    return dict(pairs)\n"
    "def load(text):\n"
    "    return json.loads(text, parse_constant=no_constant,\n"
    "                      object_pairs_hook=no_repeats)\n"
    "def read(name):\n"
    "    with open(d + '/' + name, 'rb') as f:\n"
    "        return f.read().decode('utf-8', 'strict')\n"
    "def hexed(o, keys):\n"
    "    for k in keys:\n"
    "        if k in o:\n"
    "            o[k] = h(o[k])\n"
    "    return o\n"
    "out = {}\n"
    "r = load(read('report.json'))\n"
    "for j in r['jobs']:\n"
    "    hexed(j, ('name', 'stdout', 'stderr', 'error', 'reason'))\n"
    "out['report'] = r\n"
    "ev = read('events.jsonl')\n"
    "assert ev.endswith('\\n'), 'events: no newline at the end'\n"
    "out['events'] = [hexed(load(l), ('job', 'text', 'error', 'reason'))\n"
    "                 for l in ev.split('\\n')[:-1]]\n"
    "t = load(read('trace.json'))\n"
    "out['trace'] = [dict(name=h(e['name']), tid=e['tid'], ts=e['ts'],\n"
    "                     dur=e['dur'], **e['args'])\n"
    "                for e in t['traceEvents'] if e['ph'] == 'X']\n"
    "x = junitparser.JUnitXml.fromfile(d + '/junit.xml')\n"
    "suites = []\n"
    "for s in x:\n"
    "    cases = []\n"
    "    for c in s:\n"
    "        res = [dict(tag=e._tag, message=h(e.message), type=e.type)\n"
    "               for e in c.result]\n"
    "        cases.append(dict(name=h(c.name), classname=c.classname,\n"
    "                          time=c.time, result=res,\n"
    "                          out=h(c.system_out), err=h(c.system_err)))\n"
    "    suites.append(dict(name=s.name, tests=s.tests, failures=s.failures,\n"
    "                       errors=s.errors, skipped=s.skipped, cases=cases))\n"
    "out['junit'] = suites\n"
    "svg = ET.parse(d + '/timeline.svg').getroot()\n"
    "ns = '{http://www.w3.org/2000/svg}'\n"
    "out['svg'] = dict(root=svg.tag,\n"
    "    bars=[h(g.find(ns + 'title').text) for g in svg.iter(ns + 'g')],\n"
    "    texts=[h(e.text) for e in svg.iter(ns + 'text')])\n"
    "print(json.dumps(out))\n";

static cJSON *consumers_read(const ctx_t *c) {
  char *junit = in_dir(c, "junit.xml"), *svg = in_dir(c, "timeline.svg");
  char *lint[] = {tool.xmllint, "--noout", "--nonet", junit, svg, NULL};
  free(run_tool(lint, 0, NULL));
  free(junit);
  free(svg);
  char *py[] = {tool.python, "-c", (char *)PY_READ, c->dir, NULL};
  char *text = run_tool(py, 0, NULL);
  cJSON *doc = cJSON_Parse(text);
  if (doc == NULL)
    print_message("not JSON from python: %.2000s\n", text);
  free(text);
  assert_non_null(doc);
  return doc;
}

/* ---- reading the summary -------------------------------------------------------- */

static const char *text_of(const cJSON *o, const char *key) {
  const cJSON *v = jget(o, key);
  if (!cJSON_IsString(v))
    fail_msg("\"%s\" is not a string", key);
  return v->valuestring;
}

static int int_of(const cJSON *o, const char *key) {
  const cJSON *v = jget(o, key);
  if (!cJSON_IsNumber(v))
    fail_msg("\"%s\" is not a number", key);
  return v->valueint;
}

/* The bytes of a hexed text (NUL-ended, for free()), NULL for null. */
static char *unhex(const cJSON *v, size_t *len) {
  *len = 0;
  if (v == NULL || cJSON_IsNull(v))
    return NULL;
  assert_true(cJSON_IsString(v));
  size_t n = strlen(v->valuestring) / 2;
  char *s = malloc(n + 1);
  assert_non_null(s);
  for (size_t i = 0; i < n; i++) {
    unsigned x;
    assert_int_equal(sscanf(v->valuestring + 2 * i, "%2x", &x), 1);
    s[i] = (char)x;
  }
  s[n] = '\0';
  *len = n;
  return s;
}

static char *unhex_at(const cJSON *o, const char *key, size_t *len) {
  return unhex(cJSON_GetObjectItemCaseSensitive(o, key), len);
}

/* Whether the hexed text at o[key] is exactly `name`. */
static bool hexed_is(const cJSON *o, const char *key, const char *name) {
  size_t len;
  char *s = unhex_at(o, key, &len);
  bool same = s && len == strlen(name) && memcmp(s, name, len) == 0;
  free(s);
  return same;
}

/* The hexed text at o[key] is `want` (n bytes), NULL meaning null. */
static void expect_hexed(const char *file, const char *job, const cJSON *o,
                         const char *key, const char *want, size_t n) {
  size_t len;
  char *got = unhex_at(o, key, &len);
  char what[512];
  snprintf(what, sizeof what, "%s: %s of %s", file, key, job);
  expect_bytes(what, got, len, want, n);
  free(got);
}

static void expect_hexed_str(const char *file, const char *job, const cJSON *o,
                             const char *key, const char *want) {
  expect_hexed(file, job, o, key, want, want ? strlen(want) : 0);
}

static const buf_t MARKUP_BYTES = {MARKUP_TEXT, sizeof MARKUP_TEXT - 1, 0};

/* What a job's stream holds, as JSON or XML gives it back; NULL when the
 * job writes nothing there. */
static const buf_t *stream_form(const ctx_t *c, int kind, bool xml) {
  switch (kind) {
  case OUT_PAYLOAD: return xml ? &c->out.xml : &c->out.json;
  case ERR_PAYLOAD: return xml ? &c->err.xml : &c->err.json;
  case MARKUP: return &MARKUP_BYTES;
  default: return NULL;
  }
}

/* The tail of the long lines: the last 64 KiB, all "€"s, cut inside a
 * character at both ends. */
static void long_tail(buf_t *b) {
  size_t from = EURO_BYTES - TAIL_DEFAULT;
  size_t lead = (3 - from % 3) % 3, trail = EURO_BYTES % 3;
  for (size_t i = 0; i < lead; i++)
    b_str(b, R);
  for (size_t i = 0; i < (TAIL_DEFAULT - lead - trail) / 3; i++)
    b_str(b, "\xE2\x82\xAC");
  for (size_t i = 0; i < trail; i++)
    b_str(b, R);
}

/* A captured stream: `empty` is what nothing written reads as (JUnit
 * leaves the element out: null; the report has ""). */
static void expect_stream(const ctx_t *c, const char *file, const job_t *j,
                          const cJSON *o, const char *key, int kind, bool xml,
                          const char *empty) {
  buf_t tail = {0};
  const buf_t *want = stream_form(c, kind, xml);
  if (kind == LONG_LINES) {
    long_tail(&tail);
    want = &tail;
  }
  if (want)
    expect_hexed(file, j->name, o, key, want->p, want->len);
  else
    expect_hexed_str(file, j->name, o, key, empty);
  buf_free(&tail);
}

/* The array o[key], one entry per job in job-file order. */
static const cJSON *entries(const cJSON *o, const char *key, size_t n) {
  const cJSON *arr = jget(o, key);
  assert_int_equal(cJSON_GetArraySize(arr), n);
  return arr;
}

/* Entry i, which must name job j exactly. */
static const cJSON *entry(const cJSON *arr, const char *file, const job_t *j,
                          size_t i) {
  const cJSON *o = cJSON_GetArrayItem(arr, (int)i);
  expect_hexed_str(file, j->name, o, "name", j->name);
  return o;
}

/* ---- checking each file ------------------------------------------------------- */

static bool is(const job_t *j, const char *status) {
  return strcmp(j->status, status) == 0;
}

static bool started(const job_t *j) {
  return !is(j, "skipped") && !is(j, "error");
}

static void check_report(const ctx_t *c, const cJSON *report,
                         const job_t *jobs, size_t n) {
  assert_string_equal(text_of(report, "status"), "failed");
  assert_int_equal(int_of(report, "exit_code"), 1);
  const cJSON *counts = jget(report, "counts");
  static const char *const STATUSES[] = {"ok", "failed", "timeout",
                                         "cancelled", "skipped", "error"};
  for (size_t s = 0; s < 6; s++) {
    int k = 0;
    for (size_t i = 0; i < n; i++)
      k += is(&jobs[i], STATUSES[s]);
    assert_int_equal(int_of(counts, STATUSES[s]), k);
  }
  const cJSON *arr = entries(report, "jobs", n);
  for (size_t i = 0; i < n; i++) {
    const job_t *j = &jobs[i];
    const cJSON *o = entry(arr, "report", j, i);
    assert_string_equal(text_of(o, "status"), j->status);
    if (j->exit_code < 0)
      assert_true(cJSON_IsNull(jget(o, "exit_code")));
    else
      assert_int_equal(int_of(o, "exit_code"), j->exit_code);
    if (j->signal)
      assert_string_equal(text_of(o, "signal"), j->signal);
    else
      assert_true(cJSON_IsNull(jget(o, "signal")));
    assert_int_equal(int_of(o, "attempts"), j->attempts);
    expect_stream(c, "report", j, o, "stdout", j->out, false, "");
    expect_stream(c, "report", j, o, "stderr", j->err, false, "");
    assert_int_equal(cJSON_IsTrue(jget(o, "stdout_truncated")),
                     j->out == LONG_LINES);
    assert_true(cJSON_IsFalse(jget(o, "stderr_truncated")));
    expect_hexed_str("report", j->name, o, "error", j->error);
    expect_hexed_str("report", j->name, o, "reason", j->reason);
  }
}

/* The text of a job's line events on one stream, a newline after each. */
static void event_lines(const cJSON *events, const char *name,
                        const char *stream, buf_t *lines) {
  const cJSON *e;
  cJSON_ArrayForEach(e, events) {
    if (strcmp(text_of(e, "event"), "line") != 0 ||
        strcmp(text_of(e, "stream"), stream) != 0 ||
        !hexed_is(e, "job", name))
      continue;
    size_t n;
    char *text = unhex_at(e, "text", &n);
    buf_add(lines, text, n);
    b_str(lines, "\n");
    free(text);
  }
}

/* The long lines come in pieces of line_max bytes at most: the helper's
 * lines whole once put together, the "€"s whole characters but for a
 * U+FFFD each where a piece cut one. */
static void check_long_lines(const buf_t *lines) {
  const char *p = lines->p, *end = lines->p + lines->len;
  assert_non_null(p);
  for (int k = 0; k < 2; k++) {
    char head[16];
    snprintf(head, sizeof head, "%08d ", k);
    assert_memory_equal(p, head, 9);
    for (int piece = 0; piece < 3; piece++) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      assert_non_null(nl);
      assert_int_equal(nl - p, piece < 2 ? LINE_MAX_DEFAULT
                                         : LONG_LINE - 1 - 2 * LINE_MAX_DEFAULT);
      p = nl + 1;
    }
  }
  size_t euros = 0, cut = 0, pieces = 0;
  while (p < end) {
    if (memcmp(p, "\xE2\x82\xAC", 3) == 0)
      euros++, p += 3;
    else if (memcmp(p, R, 3) == 0)
      cut++, p += 3;
    else if (*p++ == '\n')
      pieces++;
    else
      fail_msg("a byte in the long line that was never written");
  }
  assert_int_equal(pieces, (EURO_BYTES + LINE_MAX_DEFAULT - 1) / LINE_MAX_DEFAULT);
  assert_int_equal(euros * 3 + cut, EURO_BYTES);
  assert_true(cut <= 4 * pieces);
}

static size_t count_events(const cJSON *events, const char *event,
                           const char *name) {
  size_t k = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, events)
    k += strcmp(text_of(e, "event"), event) == 0 &&
         (name == NULL || hexed_is(e, "job", name));
  return k;
}

static void check_job_events(const ctx_t *c, const cJSON *events,
                             const job_t *j) {
  assert_int_equal(count_events(events, "start", j->name),
                   started(j) ? j->attempts : 0);
  assert_int_equal(count_events(events, "exit", j->name),
                   is(j, "skipped") ? 0 : j->attempts);
  assert_int_equal(count_events(events, "retry", j->name),
                   j->attempts > 1 ? j->attempts - 1 : 0);
  assert_int_equal(count_events(events, "skip", j->name), is(j, "skipped"));
  static const char *const STREAMS[] = {"stdout", "stderr"};
  for (size_t s = 0; s < 2; s++) {
    int kind = s ? j->err : j->out;
    buf_t lines = {0}, want = {0};
    event_lines(events, j->name, STREAMS[s], &lines);
    if (kind == LONG_LINES) {
      check_long_lines(&lines);
    } else {
      /* Joined, the lines are the stream, each attempt's; a last line
       * with no newline is a line all the same. */
      const buf_t *form = stream_form(c, kind, false);
      for (unsigned a = 0; form && a < j->attempts; a++) {
        buf_add(&want, form->p, form->len);
        if (form->p[form->len - 1] != '\n')
          b_str(&want, "\n");
      }
      char what[300];
      snprintf(what, sizeof what, "events: %s lines of %s", STREAMS[s],
               j->name);
      expect_bytes(what, lines.p ? lines.p : "", lines.len,
                   want.p ? want.p : "", want.len);
    }
    buf_free(&lines);
    buf_free(&want);
  }
  const cJSON *e;
  cJSON_ArrayForEach(e, events) {
    if (!hexed_is(e, "job", j->name))
      continue;
    if (strcmp(text_of(e, "event"), "exit") == 0)
      expect_hexed_str("events", j->name, e, "error", j->error);
    if (strcmp(text_of(e, "event"), "skip") == 0)
      expect_hexed_str("events", j->name, e, "reason", j->reason);
  }
}

static void check_events(const ctx_t *c, const cJSON *events,
                         const job_t *jobs, size_t n, bool halts) {
  int count = cJSON_GetArraySize(events);
  assert_true(count > 0);
  const cJSON *last = cJSON_GetArrayItem(events, count - 1);
  assert_string_equal(text_of(last, "event"), "done");
  assert_int_equal(int_of(last, "exit_code"), 1);
  assert_int_equal(count_events(events, "done", NULL), 1);
  assert_int_equal(count_events(events, "halt", NULL), halts);
  for (size_t i = 0; i < n; i++)
    check_job_events(c, events, &jobs[i]);
}

static void check_junit(const ctx_t *c, const cJSON *suites,
                        const job_t *jobs, size_t n) {
  assert_int_equal(cJSON_GetArraySize(suites), 1);
  const cJSON *s = cJSON_GetArrayItem(suites, 0);
  assert_string_equal(text_of(s, "name"), "corun");
  static const char *const KINDS[] = {"failure", "error", "skipped"};
  static const char *const COUNTS[] = {"failures", "errors", "skipped"};
  for (size_t k = 0; k < 3; k++) {
    int want = 0;
    for (size_t i = 0; i < n; i++)
      want += jobs[i].junit && strcmp(jobs[i].junit, KINDS[k]) == 0;
    assert_int_equal(int_of(s, COUNTS[k]), want);
  }
  assert_int_equal(int_of(s, "tests"), n);
  const cJSON *cases = entries(s, "cases", n);
  for (size_t i = 0; i < n; i++) {
    const job_t *j = &jobs[i];
    const cJSON *tc = entry(cases, "junit", j, i);
    assert_string_equal(text_of(tc, "classname"), "corun");
    const cJSON *res = jget(tc, "result");
    assert_int_equal(cJSON_GetArraySize(res), j->junit != NULL);
    if (j->junit) {
      const cJSON *r = cJSON_GetArrayItem(res, 0);
      assert_string_equal(text_of(r, "tag"), j->junit);
      expect_hexed_str("junit", j->name, r, "message",
                       j->message_xml ? j->message_xml : j->message);
      if (strcmp(j->junit, "failure") == 0)
        assert_string_equal(text_of(r, "type"), j->status);
    }
    expect_stream(c, "junit", j, tc, "out", j->out, true, NULL);
    expect_stream(c, "junit", j, tc, "err", j->err, true, NULL);
  }
}

/* A bar per attempt that ran, in the trace and in the timeline, each
 * named exactly. */
static void check_spans(const cJSON *trace, const cJSON *svg,
                        const job_t *jobs, size_t n) {
  assert_string_equal(text_of(svg, "root"), "{http://www.w3.org/2000/svg}svg");
  const cJSON *bars = jget(svg, "bars");
  int spans = 0;
  for (size_t i = 0; i < n; i++) {
    const job_t *j = &jobs[i];
    unsigned want = started(j) ? j->attempts : 0, in_trace = 0, in_svg = 0;
    spans += (int)want;
    const cJSON *e;
    cJSON_ArrayForEach(e, trace) {
      if (!hexed_is(e, "name", j->name))
        continue;
      assert_int_equal(int_of(e, "attempt"), ++in_trace);
      if (in_trace == j->attempts)
        assert_string_equal(text_of(e, "status"), j->status);
    }
    cJSON_ArrayForEach(e, bars) {
      /* "NAME (attempt N): status, ..." */
      size_t len, name_len = strlen(j->name);
      char *title = unhex(e, &len);
      in_svg += len > name_len && memcmp(title, j->name, name_len) == 0 &&
                strncmp(title + name_len, " (attempt ", 10) == 0;
      free(title);
    }
    assert_int_equal(in_trace, want);
    assert_int_equal(in_svg, want);
  }
  assert_int_equal(cJSON_GetArraySize(trace), spans);
  assert_int_equal(cJSON_GetArraySize(bars), spans);
}

static void check_all(const ctx_t *c, const job_t *jobs, size_t n,
                      bool halts) {
  cJSON *doc = consumers_read(c);
  check_report(c, jget(doc, "report"), jobs, n);
  check_events(c, jget(doc, "events"), jobs, n, halts);
  check_junit(c, jget(doc, "junit"), jobs, n);
  check_spans(jget(doc, "trace"), jget(doc, "svg"), jobs, n);
  cJSON_Delete(doc);
}

/* ---- the tests ------------------------------------------------------------------ */

#define HOSTILE_HEAD "\"max_parallel\":4"
#define HALTED_HEAD "\"max_parallel\":4,\"halt\":\"now,fail=1\""

/* One plan through the library or the command line, then every file. */
static void run_and_check(ctx_t *c, bool cli, const char *head,
                          const job_t *jobs, size_t n, bool halts) {
  need_tools();
  char *plan = plan_text(c, head, jobs, n);
  assert_int_equal(cli ? run_cli(c, plan) : run_library(c, plan), 1);
  free(plan);
  check_all(c, jobs, n, halts);
}

static void test_library_hostile_output(void **state) {
  run_and_check(*state, false, HOSTILE_HEAD, HOSTILE, N_HOSTILE, false);
}

static void test_cli_hostile_output(void **state) {
  run_and_check(*state, true, HOSTILE_HEAD, HOSTILE, N_HOSTILE, false);
}

static void test_library_halted(void **state) {
  run_and_check(*state, false, HALTED_HEAD, HALTED, N_HALTED, true);
}

static void test_cli_halted(void **state) {
  run_and_check(*state, true, HALTED_HEAD, HALTED, N_HALTED, true);
}

static const cJSON *graph_node(const cJSON *objects, const char *name) {
  const cJSON *o;
  cJSON_ArrayForEach(o, objects) {
    if (strcmp(text_of(o, "name"), name) == 0)
      return o;
  }
  fail_msg("%s is not a node of the graph", name);
  return NULL;
}

/* --graph: Graphviz reads it and gives back every name and edge. */
static void test_cli_graph(void **state) {
  ctx_t *c = *state;
  need_tools();
  char *text = plan_text(c, HOSTILE_HEAD, HOSTILE, N_HOSTILE);
  char *plan = write_plan(c, text);
  free(text);
  char *argv[] = {(char *)tu_corun(), "--graph", plan, NULL};
  size_t len;
  char *dot = run_tool(argv, 0, &len);
  char *dot_file = in_dir(c, "graph.dot");
  FILE *f = fopen(dot_file, "w");
  assert_non_null(f);
  fwrite(dot, 1, len, f);
  assert_int_equal(fclose(f), 0);
  char *to_svg[] = {tool.dot, "-Tsvg", "-o", "/dev/null", dot_file, NULL};
  tu_result_t r;
  tu_run(&r, to_svg, NULL, 60);
  if (r.status != 0 || r.err_len != 0)
    show_run(&r);
  assert_int_equal(r.status, 0);
  assert_int_equal(r.err_len, 0); /* not even a warning */
  tu_result_free(&r);
  char *to_json[] = {tool.dot, "-Tjson", dot_file, NULL};
  char *json = run_tool(to_json, 0, NULL);
  cJSON *g = cJSON_Parse(json);
  assert_non_null(g);
  const cJSON *objects = jget(g, "objects"), *edges = jget(g, "edges");
  assert_int_equal(cJSON_GetArraySize(objects), N_HOSTILE);
  for (size_t i = 0; i < N_HOSTILE; i++) {
    const cJSON *style =
        cJSON_GetObjectItemCaseSensitive(graph_node(objects, HOSTILE[i].name),
                                         "style");
    bool dashed = cJSON_IsString(style) && strcmp(style->valuestring, "dashed") == 0;
    assert_int_equal(dashed, HOSTILE[i].out == MARKUP); /* allow_failure */
  }
  /* Every "needs" is an edge, from the need to the job. */
  size_t n_edges = 0;
  for (size_t i = 0; i < N_HOSTILE; i++) {
    const char *keys = HOSTILE[i].keys, *need;
    if (keys == NULL || (need = strstr(keys, "\"needs\":[\"")) == NULL)
      continue;
    need += strlen("\"needs\":[\"");
    int need_len = (int)strcspn(need, "\"");
    bool seen = false;
    const cJSON *e;
    cJSON_ArrayForEach(e, edges) {
      const char *tail =
          text_of(cJSON_GetArrayItem(objects, int_of(e, "tail")), "name");
      const char *head =
          text_of(cJSON_GetArrayItem(objects, int_of(e, "head")), "name");
      seen |= strlen(tail) == (size_t)need_len &&
              strncmp(tail, need, (size_t)need_len) == 0 &&
              strcmp(head, HOSTILE[i].name) == 0;
    }
    if (!seen)
      fail_msg("no edge %.*s -> %s", need_len, need, HOSTILE[i].name);
    n_edges++;
  }
  assert_int_equal(cJSON_GetArraySize(edges), n_edges);
  cJSON_Delete(g);
  free(json);
  free(dot);
  free(dot_file);
  free(plan);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_library_hostile_output, ctx_new,
                                      ctx_free),
      cmocka_unit_test_setup_teardown(test_cli_hostile_output, ctx_new,
                                      ctx_free),
      cmocka_unit_test_setup_teardown(test_library_halted, ctx_new, ctx_free),
      cmocka_unit_test_setup_teardown(test_cli_halted, ctx_new, ctx_free),
      cmocka_unit_test_setup_teardown(test_cli_graph, ctx_new, ctx_free),
  };
  int failed = RUN_SUITE("writers", tests);
  free(tool.python);
  free(tool.xmllint);
  free(tool.dot);
  return failed;
}
