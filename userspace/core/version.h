/* What was built: the release (the repo's VERSION file) and the commit it
 * was built from (git, or "unknown" from a tarball), fixed at build time in
 * the generated aigw_version.h. Shown by `aigwd --version`, `aigwctl
 * --version` and the aigw_build_info metric. */
#ifndef AIGW_VERSION_H
#define AIGW_VERSION_H

const char *aigw_version(void);
const char *aigw_commit(void);

#endif
