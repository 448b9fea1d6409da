/* libFuzzer target: the job-file loader, then selection, order and
 * inspection of whatever loads. Any crash, leak or sanitizer report is a
 * bug; so is a failure without a message. */
#include "corun.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  corun_plan_t *plan = NULL;
  corun_error_t err = {0};
  int rc = corun_plan_load_buffer(&plan, (const char *)data, size, "fuzz.json",
                                  "/tmp", &err);
  if (rc != 0) {
    if (plan != NULL || err.count == 0)
      abort();
    for (size_t i = 0; i < err.count; i++)
      if (strncmp(err.messages[i], "fuzz.json", 9) != 0)
        abort();
    corun_error_release(&err);
    return 0;
  }
  size_t n = corun_plan_job_count(plan);
  const size_t *order = corun_plan_order(plan);
  unsigned char *seen = calloc(n ? n : 1, 1);
  for (size_t k = 0; k < n; k++) {
    size_t i = order[k];
    if (i >= n || seen[i])
      abort();
    /* Every need comes earlier in the order. */
    const corun_job_desc_t *d = corun_plan_job(plan, i);
    for (size_t e = 0; d->needs && d->needs[e]; e++) {
      size_t t;
      if (corun_plan_find(plan, d->needs[e], &t) != 0 || !seen[t])
        abort();
    }
    seen[i] = 1;
  }
  free(seen);
  if (n > 0) {
    const char *last = corun_plan_job(plan, n - 1)->name;
    unsigned char *sel = malloc(n);
    if (sel == NULL || corun_plan_select(plan, &last, 1, sel, &err) != 0 ||
        !sel[n - 1])
      abort();
    free(sel);
  }
  corun_plan_free(plan);
  corun_error_release(&err);
  return 0;
}
