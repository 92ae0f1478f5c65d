/* Which way an intercepted connection goes once its ClientHello is read:
 * a pure function of what the connection showed, so every rule is in one
 * table and unit-tested (conn.c acts on the answer).
 *
 *   no policy, or inspect observe       splice (recorded, nothing enforced)
 *   SNI names a catalog provider        terminate: the policy applies; if
 *                                       the local CA may not mint for it,
 *                                       refuse, never an unchecked splice
 *   anything else (no SNI, another      to a provider address: refuse, so
 *   name, not TLS)                      nothing reaches a provider unchecked;
 *                                       to another address (only under
 *                                       intercept all_tls): non_provider_tls
 *                                       decides, splice by default
 *
 * The name is the ClientHello parser's: lower case, one trailing dot
 * dropped (tls_clienthello.c), so "api.openai.com." meets this policy as
 * "api.openai.com".
 *
 * A provider name reached at an address of another provider (a CDN that
 * fronts both) is handled by the policy as the provider it names: the
 * upstream certificate check then has the last word. */
#ifndef AIGW_CONN_DECIDE_H
#define AIGW_CONN_DECIDE_H

#include <stdbool.h>

enum cdec_way { CDEC_SPLICE, CDEC_TERMINATE, CDEC_REFUSE };

struct cdec_in {
	bool has_policy;      /* the origin named a policy this set has */
	bool observe;         /* its inspect is observe */
	bool all_tls;         /* redirected by intercept all_tls, not by the catalog */
	bool npt_refuse;      /* its non_provider_tls is refuse */
	bool is_tls;          /* a complete ClientHello was read */
	bool has_sni;         /* ... with a server name */
	int sni_provider;     /* the catalog provider of that name, or -1 */
	bool can_terminate;   /* the local CA may mint a leaf for it */
};

/* The way, and why (a static string for the log and the audit record). */
enum cdec_way cdec_decide(const struct cdec_in *in, const char **why);

#endif
