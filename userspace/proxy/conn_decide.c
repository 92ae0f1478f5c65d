#include "conn_decide.h"


enum cdec_way cdec_decide(const struct cdec_in *in, const char **why)
{
	if (!in->has_policy || in->observe) {
		*why = "observe";
		return CDEC_SPLICE;
	}
	if (in->sni_provider >= 0) {
		if (in->can_terminate) {
			*why = "provider";
			return CDEC_TERMINATE;
		}
		*why = "provider name the local CA does not cover (remove ca.crt and ca.key to "
		       "make a new CA)";
		return CDEC_REFUSE;
	}
	if (!in->all_tls) {
		*why = !in->is_tls    ? "not TLS, to a provider address"
		       : !in->has_sni ? "no SNI, to a provider address"
				      : "SNI of no provider, to a provider address";
		return CDEC_REFUSE;
	}
	if (in->npt_refuse) {
		*why = "non-provider TLS refused by policy";
		return CDEC_REFUSE;
	}
	*why = "non-provider";
	return CDEC_SPLICE;
}
