/* Inside dlp/: what a policy does with each detector, and the findings a
 * scan reports (detector name, action, count; never the matched text). */
#ifndef AIGW_DLP_FINDINGS_H
#define AIGW_DLP_FINDINGS_H

#include <stddef.h>
#include <stdint.h>

#include "policy_load.h"
#include "req_record.h"

/* det: a built-in (enum pol_detector) or DLP_CUSTOM(i). */
enum pol_dlp_action dlp_det_action(const struct pol_policy *p, unsigned det);
const char *dlp_det_name(const struct pol_policy *p, unsigned det);

/* Count one more match of det in v[0..*n) (at most RR_MAX_FINDINGS
 * detectors; false when det did not fit). */
bool dlp_finding_add(struct rr_finding *v, uint8_t *n, const struct pol_policy *p, unsigned det,
		     enum rr_where where);

/* "DLP: <what> blocked: found a, b, c" naming the blocking detectors in
 * v[0..n). */
void dlp_block_message(char *buf, size_t cap, const char *what, const struct rr_finding *v,
		       uint8_t n);

#endif
