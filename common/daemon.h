/* Start-up shared by cairn-controller and cairn-broker. */
#ifndef CAIRN_DAEMON_H
#define CAIRN_DAEMON_H

#include "config.h"

/* Ignores SIGPIPE (a peer that vanishes mid-write must not kill the
 * process), loads the properties file at path for role into cfg (which the
 * caller frees with cairn_config_free), and starts logging as role_name.
 * Returns 0, or exit status 2 after printing "prog: <one line naming the
 * key>" on stderr. */
int cairn_daemon_init(const char *prog, const char *role_name, unsigned role,
                      const char *path, cairn_config_t *cfg);

#endif
