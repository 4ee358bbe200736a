/* cairn-broker: hosts partition replicas. It registers with the controller
 * quorum, heartbeats, and follows the metadata log as an observer.
 *   cairn-broker server.properties
 *   cairn-broker --help */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config.h"
#include "controller_link.h"
#include "daemon.h"
#include "image.h"
#include "log.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: cairn-broker server.properties\n\n"
                 "Runs a Cairn broker. Keys:\n");
    cairn_config_print_help(out, CAIRN_ROLE_BROKER);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct event_base *base = arg;
    LOG_INFO("broker", "signal %d: shutting down", (int)sig);
    event_base_loopbreak(base);
}

static int run(const cairn_config_t *cfg)
{
    struct event_base *base = event_base_new();
    md_image_t *image = md_image_new();
    char err[512] = "";
    controller_link_t *link = base && image
        ? controller_link_start(base, cfg, image, err, sizeof err) : NULL;
    if (!link) {
        fprintf(stderr, "cairn-broker: %s\n", err[0] ? err : "out of memory");
        md_image_free(image);
        if (base)
            event_base_free(base);
        return strncmp(err, "config:", 7) == 0 ? 2 : 1;
    }
    struct event *sig_term = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *sig_int = evsignal_new(base, SIGINT, on_signal, base);
    evsignal_add(sig_term, NULL);
    evsignal_add(sig_int, NULL);
    LOG_INFO("broker", "started; controllers %s", cfg->controller_quorum_voters);
    event_base_dispatch(base);
    controller_link_free(link);
    event_free(sig_term);
    event_free(sig_int);
    md_image_free(image);
    event_base_free(base);
    LOG_INFO("broker", "stopped");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        usage(stderr);
        return 2;
    }
    cairn_config_t cfg;
    int rc = cairn_daemon_init("cairn-broker", "broker", CAIRN_ROLE_BROKER, argv[1], &cfg);
    if (rc == 0)
        rc = run(&cfg);
    cairn_config_free(&cfg);
    return rc;
}
