/* cairnctl's calls to the controller leader, shared by the topic and broker
 * commands (cairnctl.c) and the group commands (ctl_groups.c): a session
 * (one private loop, one ctrl_client, the command's deadline), one call run
 * to completion on it, and how a failed call or a refusal is named. */
#ifndef CAIRN_CTL_SESSION_H
#define CAIRN_CTL_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <protobuf-c/protobuf-c.h>

#include "admin.pb-c.h"
#include "ctl_args.h"
#include "ctrl_client.h"

typedef struct ctl_session {
    struct event_base *base;       /* owned */
    ctrl_client_t *cc;             /* owned */
    uint64_t deadline_ms;          /* monotonic; of what the session is for */
} ctl_session_t;

/* What one call produced, copied out of the callback. */
typedef struct ctl_result {
    bool done;                     /* false: the call could not start (why says so) */
    int err;                       /* how it ended; 0: body holds the answer */
    bool refused;                  /* ctl_list_brokers: the answer's Status was an error */
    char why[CTRL_CLIENT_WHY_MAX]; /* err != 0, !done or refused: one line */
    uint8_t *body;                 /* owned: free() */
    size_t body_len;
    struct event_base *base;       /* borrowed */
} ctl_result_t;

/* Opens s for a's controllers (a borrowed), with its deadline timeout_ms
 * from now. Returns 0, or -1 with why set ("cannot create an event loop"
 * etc.); close s with ctl_session_close either way. */
int ctl_session_open(ctl_session_t *s, const ctl_args_t *a, uint32_t timeout_ms, char *why,
                     size_t why_len);
void ctl_session_close(ctl_session_t *s);

/* What is left until deadline_ms, at least 1 ms (a call needs a timeout). */
uint32_t ctl_time_left(uint64_t deadline_ms);

/* Runs one call (msg borrowed) to completion on s's loop. Returns 0 with
 * res filled (res->err says how the call ended), or -1 with res->why set if
 * it could not start. res->body from an earlier call is freed first. */
int ctl_call_once(ctl_session_t *s, uint32_t type, const ProtobufCMessage *msg,
                  uint32_t timeout_ms, ctl_result_t *res);

/* ctl_call_once, then the answer decoded as desc. Returns it (owned: free
 * with protobuf_c_message_free_unpacked; its Status is the caller's to
 * check), or NULL with res set as for ctl_print_call_error (an answer that
 * does not decode: CAIRN_ERR_CORRUPT). res->body is freed either way. */
ProtobufCMessage *ctl_ask(ctl_session_t *s, uint32_t type, const ProtobufCMessage *req,
                          const ProtobufCMessageDescriptor *desc, uint32_t timeout_ms,
                          ctl_result_t *res);

/* The brokers, as ctl_ask (free with
 * cairn__list_brokers_response__free_unpacked), or NULL with res->why; when
 * the controller refused, res->refused is set and why is its Status text. */
Cairn__ListBrokersResponse *ctl_list_brokers(ctl_session_t *s, uint32_t timeout_ms,
                                             ctl_result_t *res);

/* The one error line of a call that failed or did not start:
 * "cairnctl: WHAT: why", or the no-quorum line alone (it says all). */
void ctl_print_call_error(const char *what, const ctl_result_t *res);

/* A refusal's text: its message, else its code's. st borrowed. */
const char *ctl_status_text(const Cairn__Status *st);

#endif
