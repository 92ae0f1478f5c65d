/* Actions and findings of DLP scans (dlp_findings.h). */
#include "dlp_findings.h"

#include <stdio.h>
#include <string.h>

#include "dlp_detect.h"

enum pol_dlp_action dlp_det_action(const struct pol_policy *p, unsigned det)
{
	if (det < POL_DET_COUNT)
		return p->dlp.det_action[det];
	det -= POL_DET_COUNT;
	return (int)det < p->dlp.n_custom ? p->dlp.custom[det].action : p->dlp.action;
}

const char *dlp_det_name(const struct pol_policy *p, unsigned det)
{
	if (det < POL_DET_COUNT)
		return pol_detector_name((enum pol_detector)det);
	det -= POL_DET_COUNT;
	return (int)det < p->dlp.n_custom ? p->dlp.custom[det].name : "custom";
}

bool dlp_finding_add(struct rr_finding *v, uint8_t *n, const struct pol_policy *p, unsigned det,
		     enum rr_where where)
{
	const char *name = dlp_det_name(p, det);

	for (uint8_t i = 0; i < *n; i++)
		if (v[i].detector == name) {
			v[i].count++;
			return true;
		}
	if (*n >= RR_MAX_FINDINGS)
		return false;
	v[*n] = (struct rr_finding){
		.detector = name,
		.action = pol_dlp_action_name(dlp_det_action(p, det)),
		.where = where,
		.count = 1,
	};
	(*n)++;
	return true;
}

void dlp_block_message(char *buf, size_t cap, const char *what, const struct rr_finding *v,
		       uint8_t n)
{
	size_t w = (size_t)snprintf(buf, cap, "DLP: %s blocked: found ", what);
	bool first = true;

	for (uint8_t i = 0; i < n && w < cap; i++) {
		if (strcmp(v[i].action, "block") != 0)
			continue;
		w += (size_t)snprintf(buf + w, cap - w, "%s%s", first ? "" : ", ", v[i].detector);
		first = false;
	}
}
