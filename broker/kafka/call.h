/* One Kafka request being handled: its decoded header, its arena, and the
 * reply. A call lives from dispatch until kafka_call_reply /
 * kafka_call_no_reply / kafka_call_malformed, which free it; handlers that
 * wait (durability, long polls, the controller) keep it until then. Runs on
 * the broker's loop thread. */
#ifndef CAIRN_KAFKA_CALL_H
#define CAIRN_KAFKA_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "broker.h"
#include "kcodec.h"
#include "kheader.h"
#include "server.h"

typedef struct kafka_call {
    broker_t *b;
    kafka_request_t *req;
    kafka_request_header_t hdr;
    kafka_arena_t arena;               /* decoded request and response live here */
    kafka_rd_t body;                   /* positioned at the request body */
    kafka_wr_t wr;                     /* valid between begin_reply and reply */
} kafka_call_t;

/* Per-request arena cap: a request's decoded form never needs more than a
 * few times its size. */
#define KAFKA_CALL_ARENA_FACTOR 4u
#define KAFKA_CALL_ARENA_MIN (64u << 10)

/* Writes the response header and returns the writer for the body. */
kafka_wr_t *kafka_call_begin_reply(kafka_call_t *call);
/* Sends what was written after begin_reply and frees the call. */
void kafka_call_reply(kafka_call_t *call);
/* acks=0 Produce: no response at all. Frees the call. */
void kafka_call_no_reply(kafka_call_t *call);
/* The request could not be decoded: logs one line (peer, api key, version,
 * why), closes the connection and frees the call. */
void kafka_call_malformed(kafka_call_t *call, const char *why);

/* Allocation in the call's arena; NULL only past the arena's cap (the
 * handler then treats the request as malformed). Zeroed. */
void *kafka_call_alloc(kafka_call_t *call, size_t n, size_t size);

/* Microseconds since the request arrived. */
uint64_t kafka_call_age_us(const kafka_call_t *call);

#endif
