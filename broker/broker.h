/* The broker's state, shared by its parts on the one loop thread: the
 * configuration, the metadata image and the link that keeps it current,
 * the hosted replicas, the log worker, and the Kafka listener. Owned by
 * main.c; the API handlers (broker/kafka/api_*.c) borrow it. */
#ifndef CAIRN_BROKER_H
#define CAIRN_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "controller_link.h"
#include "image.h"
#include "log_io.h"
#include "replicas.h"

struct kafka_server;
struct fetch_server;
struct fetchers;
struct isr_manager;
struct kafka_call;
struct fetch;
struct group_coord;

/* A handler waiting for the image to change (e.g. CreateTopics waiting
 * until the new topic is visible here). Intrusive list; fn runs after every
 * metadata change until the waiter unlinks itself. */
typedef struct broker_md_waiter {
    void (*fn)(void *arg);
    void *arg;
    struct broker_md_waiter *prev, *next;
    bool linked;
} broker_md_waiter_t;

#define BROKER_AUTO_CREATE_MAX 64

typedef struct broker {
    struct event_base *base;
    const cairn_config_t *cfg;
    uint32_t id;
    md_image_t *image;
    controller_link_t *link;
    log_io_t *io;
    replicas_t *replicas;
    struct kafka_server *kafka;
    struct fetch_server *repl_server;  /* followers fetch from it */
    struct fetchers *fetchers;         /* this broker's follower fetches */
    struct isr_manager *isr;
    struct group_coord *groups;        /* the group coordinator (group/coordinator.h); set
                                        * before the listeners start, freed after them */
    char cluster_id[32];
    broker_md_waiter_t *md_waiters;
    size_t n_md_waiters;
    char *auto_creating[BROKER_AUTO_CREATE_MAX];   /* topics being auto-created */
    struct fetch *fetches_parked;      /* long polls waiting for data (api_fetch.c) */
    size_t n_fetches_parked;
    uint64_t fetch_park_seq;
    bool shutting_down;
    bool shutdown_requested;           /* a signal came: controlled shutdown */
    struct event *shutdown_timer;
} broker_t;

/* controller_link's metadata listener (arg: the broker): replicas follow
 * the image, then every md waiter runs. */
void broker_on_metadata(void *arg);

/* Registers w (fn/arg set by the caller) for metadata changes. */
void broker_md_wait(broker_t *b, broker_md_waiter_t *w);
void broker_md_unwait(broker_t *b, broker_md_waiter_t *w);

#endif
