/* The broker's link to the controller quorum (KIP-631 lifecycle):
 * registration with a fresh incarnation, heartbeats, and the metadata log
 * fetched as an observer into the broker's image. Runs on the broker's loop
 * thread. */
#ifndef CAIRN_CONTROLLER_LINK_H
#define CAIRN_CONTROLLER_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "ctrl_client.h"
#include "image.h"

typedef struct controller_link controller_link_t;

/* Starts registering, heartbeating and fetching. cfg and image are borrowed
 * and must outlive the link. Returns an owned link or NULL with one line in
 * err. */
controller_link_t *controller_link_start(struct event_base *base, const cairn_config_t *cfg,
                                         md_image_t *image, char *err, size_t err_len);
void controller_link_free(controller_link_t *l);

uint64_t controller_link_broker_epoch(const controller_link_t *l);   /* 0: not registered */
bool controller_link_fenced(const controller_link_t *l);
/* This process's incarnation id (MD_UUID_LEN bytes), fixed at start. */
const uint8_t *controller_link_incarnation(const controller_link_t *l);

/* True once the image has applied everything the quorum had committed when
 * the broker first heard from it: from then on a topic missing from the
 * image really is gone (and its local logs may be deleted). */
bool controller_link_caught_up(const controller_link_t *l);

/* fn(arg) runs on the loop thread after every fetch that changed the image
 * (one call per fetch, after all its entries are applied). One listener;
 * NULL removes it. arg is borrowed. */
void controller_link_on_metadata(controller_link_t *l, void (*fn)(void *arg), void *arg);

/* Controlled shutdown (KIP-631): heartbeats from now on ask the controller
 * to move this broker's leaderships and ISR places away; done(arg) runs once
 * the controller answers that the broker may stop. The caller bounds the
 * wait. */
void controller_link_shutdown(controller_link_t *l, void (*done)(void *arg), void *arg);

/* The link's leader-following controller client, for admin requests the
 * broker forwards (CreateTopics, DeleteTopics, CreatePartitions). Borrowed;
 * valid until controller_link_free. */
ctrl_client_t *controller_link_client(controller_link_t *l);

#endif
