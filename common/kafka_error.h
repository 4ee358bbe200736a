/* Kafka wire error codes Cairn puts in ErrorCode fields (README §6 plus
 * the admin ones). A separate enum from cairn_err_t (common/errors.h):
 * internal codes never go on the wire; handlers map them explicitly. In
 * common/ because cairnctl reads them too, in the brokers' group answers. */
#ifndef CAIRN_KAFKA_ERROR_H
#define CAIRN_KAFKA_ERROR_H

#include <stdint.h>

#define KAFKA_ERRORS(X) \
    X(UNKNOWN_SERVER_ERROR,             -1) \
    X(NONE,                              0) \
    X(OFFSET_OUT_OF_RANGE,               1) \
    X(CORRUPT_MESSAGE,                   2) \
    X(UNKNOWN_TOPIC_OR_PARTITION,        3) \
    X(LEADER_NOT_AVAILABLE,              5) \
    X(NOT_LEADER_OR_FOLLOWER,            6) \
    X(REQUEST_TIMED_OUT,                 7) \
    X(MESSAGE_TOO_LARGE,                10) \
    X(OFFSET_METADATA_TOO_LARGE,        12) \
    X(COORDINATOR_LOAD_IN_PROGRESS,     14) \
    X(COORDINATOR_NOT_AVAILABLE,        15) \
    X(NOT_COORDINATOR,                  16) \
    X(INVALID_TOPIC_EXCEPTION,          17) \
    X(NOT_ENOUGH_REPLICAS,              19) \
    X(NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20) \
    X(INVALID_REQUIRED_ACKS,            21) \
    X(ILLEGAL_GENERATION,               22) \
    X(INCONSISTENT_GROUP_PROTOCOL,      23) \
    X(INVALID_GROUP_ID,                 24) \
    X(UNKNOWN_MEMBER_ID,                25) \
    X(INVALID_SESSION_TIMEOUT,          26) \
    X(REBALANCE_IN_PROGRESS,            27) \
    X(INVALID_COMMIT_OFFSET_SIZE,       28) \
    X(UNSUPPORTED_SASL_MECHANISM,       33) \
    X(ILLEGAL_SASL_STATE,               34) \
    X(UNSUPPORTED_VERSION,              35) \
    X(TOPIC_ALREADY_EXISTS,             36) \
    X(INVALID_PARTITIONS,               37) \
    X(INVALID_REPLICATION_FACTOR,       38) \
    X(INVALID_REPLICA_ASSIGNMENT,       39) \
    X(INVALID_CONFIG,                   40) \
    X(NOT_CONTROLLER,                   41) \
    X(INVALID_REQUEST,                  42) \
    X(UNSUPPORTED_FOR_MESSAGE_FORMAT,   43) \
    X(POLICY_VIOLATION,                 44) \
    X(OUT_OF_ORDER_SEQUENCE_NUMBER,     45) \
    X(DUPLICATE_SEQUENCE_NUMBER,        46) \
    X(INVALID_PRODUCER_EPOCH,           47) \
    X(INVALID_TRANSACTION_TIMEOUT,      50) \
    X(KAFKA_STORAGE_ERROR,              56) \
    X(SASL_AUTHENTICATION_FAILED,       58) \
    X(UNKNOWN_PRODUCER_ID,              59) \
    X(NON_EMPTY_GROUP,                  68) \
    X(GROUP_ID_NOT_FOUND,               69) \
    X(LISTENER_NOT_FOUND,               72) \
    X(TOPIC_DELETION_DISABLED,          73) \
    X(FENCED_LEADER_EPOCH,              74) \
    X(UNKNOWN_LEADER_EPOCH,             75) \
    X(STALE_BROKER_EPOCH,               77) \
    X(OFFSET_NOT_AVAILABLE,             78) \
    X(MEMBER_ID_REQUIRED,               79) \
    X(GROUP_MAX_SIZE_REACHED,           81) \
    X(FENCED_INSTANCE_ID,               82) \
    X(GROUP_SUBSCRIBED_TO_TOPIC,        86) \
    X(INVALID_RECORD,                   87) \
    X(INCONSISTENT_VOTER_SET,           94) \
    X(SNAPSHOT_NOT_FOUND,               98) \
    X(DUPLICATE_BROKER_REGISTRATION,   101) \
    X(BROKER_ID_NOT_REGISTERED,        102) \
    X(INCONSISTENT_CLUSTER_ID,         104)

typedef enum {
#define KAFKA_ERR_ENUM(name, code) KAFKA_ERR_##name = code,
    KAFKA_ERRORS(KAFKA_ERR_ENUM)
#undef KAFKA_ERR_ENUM
} kafka_error_t;

/* "NOT_LEADER_OR_FOLLOWER" etc.; "UNKNOWN" for codes not in the list. */
const char *kafka_error_name(int16_t code);

#endif
