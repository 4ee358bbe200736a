/* One-line logging: "<time> <LEVEL> <role>.<node> <component>: <message>".
 * The sink is the one mutable global of a process; set it up once in main. */
#ifndef CAIRN_LOG_H
#define CAIRN_LOG_H

#include <stdarg.h>

typedef enum {
    CAIRN_LOG_DEBUG = 0,
    CAIRN_LOG_INFO = 1,
    CAIRN_LOG_WARN = 2,
    CAIRN_LOG_ERROR = 3,
} cairn_log_level_t;

/* Called once from main before any log line. role is borrowed (a literal). */
void cairn_log_init(const char *role, int node_id, cairn_log_level_t level);
void cairn_log_set_level(cairn_log_level_t level);
/* Parses "debug|info|warn|error"; returns -1 on anything else. */
int cairn_log_level_parse(const char *s);
int cairn_log_enabled(cairn_log_level_t level);

void cairn_log(cairn_log_level_t level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_DEBUG(comp, ...) do { if (cairn_log_enabled(CAIRN_LOG_DEBUG)) \
    cairn_log(CAIRN_LOG_DEBUG, comp, __VA_ARGS__); } while (0)
#define LOG_INFO(comp, ...)  cairn_log(CAIRN_LOG_INFO, comp, __VA_ARGS__)
#define LOG_WARN(comp, ...)  cairn_log(CAIRN_LOG_WARN, comp, __VA_ARGS__)
#define LOG_ERROR(comp, ...) cairn_log(CAIRN_LOG_ERROR, comp, __VA_ARGS__)

#endif
