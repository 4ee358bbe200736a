/* Names of the Kafka wire error codes, from the one list in kafka_error.h. */
#include "kafka_error.h"

const char *kafka_error_name(int16_t code)
{
    switch (code) {
#define KAFKA_ERR_NAME(name, num) case num: return #name;
    KAFKA_ERRORS(KAFKA_ERR_NAME)
#undef KAFKA_ERR_NAME
    default: return "UNKNOWN";
    }
}
