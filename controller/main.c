/* cairn-controller: one voter of the metadata quorum.
 *   cairn-controller server.properties
 *   cairn-controller --help | --config-docs
 *   cairn-controller --dump-log METADATA_LOG_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config.h"
#include "controller.h"
#include "daemon.h"
#include "dump.h"
#include "log.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cairn-controller server.properties\n"
            "       cairn-controller --dump-log METADATA_LOG_DIR\n"
            "       cairn-controller --config-docs\n\n"
            "Runs one voter of Cairn's Raft metadata quorum. Keys:\n");
    cairn_config_print_help(out, CAIRN_ROLE_CONTROLLER);
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--config-docs") == 0) {
        cairn_config_print_markdown(stdout);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "--dump-log") == 0)
        return dump_metadata_log(argv[2], stdout);
    if (argc != 2 || argv[1][0] == '-') {
        usage(stderr);
        return 2;
    }
    cairn_config_t cfg;
    int rc = cairn_daemon_init("cairn-controller", "controller", CAIRN_ROLE_CONTROLLER,
                               argv[1], &cfg);
    if (rc != 0) {
        cairn_config_free(&cfg);
        return rc;
    }
    char err[512];
    struct event_base *base = event_base_new();
    if (!base) {
        LOG_ERROR("controller", "cannot create the event loop");
        return 1;
    }
    controller_t *c = controller_start(base, &cfg, err, sizeof err);
    if (!c) {
        fprintf(stderr, "cairn-controller: %s\n", err);
        event_base_free(base);
        cairn_config_free(&cfg);
        return strncmp(err, "config:", 7) == 0 ? 2 : 1;
    }
    controller_run(c);
    LOG_INFO("controller", "stopped");
    controller_free(c);
    event_base_free(base);
    cairn_config_free(&cfg);
    return 0;
}
