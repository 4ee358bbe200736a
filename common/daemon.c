/* Start-up shared by the daemons: signals, configuration, logging. */
#include "daemon.h"

#include <signal.h>
#include <stdio.h>

#include "log.h"

int cairn_daemon_init(const char *prog, const char *role_name, unsigned role,
                      const char *path, cairn_config_t *cfg)
{
    signal(SIGPIPE, SIG_IGN);
    char err[512];
    cairn_config_defaults(cfg);
    if (cairn_config_load(path, role, cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 2;
    }
    cairn_log_init(role_name, (int)cfg->node_id,
                   (cairn_log_level_t)cairn_log_level_parse(cfg->log_level));
    return 0;
}
