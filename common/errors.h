/* Cairn's internal error codes, defined once. They travel in Status.code of
 * internal RPC (proto/rpc.proto) and are never put on the Kafka wire. */
#ifndef CAIRN_ERRORS_H
#define CAIRN_ERRORS_H

#define CAIRN_ERRORS(X) \
    X(OK,                      0,  "ok") \
    X(UNKNOWN,                 1,  "unknown error") \
    X(NOMEM,                   2,  "out of memory") \
    X(IO,                      3,  "I/O error") \
    X(CORRUPT,                 4,  "corrupt data") \
    X(INVALID_REQUEST,         5,  "invalid request") \
    X(TIMEOUT,                 6,  "timed out") \
    X(DISCONNECTED,            7,  "connection lost") \
    X(CANCELLED,               8,  "cancelled") \
    X(NOT_LEADER,              9,  "not the controller leader") \
    X(NO_QUORUM,               10, "no quorum") \
    X(TOO_LARGE,               11, "too large") \
    X(QUEUE_FULL,              12, "queue full") \
    X(TOPIC_EXISTS,            20, "topic already exists") \
    X(UNKNOWN_TOPIC,           21, "unknown topic") \
    X(INVALID_TOPIC,           22, "invalid topic name") \
    X(INVALID_PARTITIONS,      23, "invalid number of partitions") \
    X(INVALID_REPLICATION,     24, "invalid replication factor") \
    X(INVALID_CONFIG,          25, "invalid topic config") \
    X(BROKER_NOT_REGISTERED,   30, "broker not registered") \
    X(STALE_BROKER_EPOCH,      31, "stale broker epoch") \
    X(DUPLICATE_REGISTRATION,  32, "broker id registered by a live incarnation") \
    X(NOT_ENOUGH_BROKERS,      33, "not enough active brokers") \
    X(FENCED_LEADER_EPOCH,     40, "leader epoch is not the partition's current one") \
    X(NOT_LEADER_OR_FOLLOWER,  41, "broker is not the partition's leader") \
    X(INVALID_UPDATE_VERSION,  42, "partition epoch is not the partition's current one") \
    X(INELIGIBLE_REPLICA,      43, "replica is fenced or in controlled shutdown") \
    X(UNKNOWN_PARTITION,       44, "unknown partition")

typedef enum {
#define CAIRN_ERR_ENUM(name, code, msg) CAIRN_ERR_##name = code,
    CAIRN_ERRORS(CAIRN_ERR_ENUM)
#undef CAIRN_ERR_ENUM
} cairn_err_t;

/* Static string for a code; "unknown error" for codes not in the list. */
const char *cairn_strerror(int code);
/* "NOT_LEADER" etc.; "UNKNOWN" for codes not in the list. */
const char *cairn_errname(int code);

#endif
