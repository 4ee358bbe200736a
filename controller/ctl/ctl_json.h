/* A small streaming JSON writer for cairnctl's --json output: strings are
 * escaped per RFC 8259 and invalid UTF-8 becomes U+FFFD, so the output always
 * parses. Separators follow the ", " / ": " style of DESIGN §6. */
#ifndef CAIRN_CTL_JSON_H
#define CAIRN_CTL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CTL_JSON_DEPTH_MAX 16

typedef struct ctl_json {
    FILE *out;                     /* borrowed */
    size_t depth;
    bool is_object[CTL_JSON_DEPTH_MAX];   /* per open container: object, else array */
    bool has_items[CTL_JSON_DEPTH_MAX];   /* per open container: a member was written */
    bool after_key;                /* the next value completes a key: value pair */
} ctl_json_t;

/* out is borrowed for the writer's lifetime. Calls must form one valid JSON
 * value (keys only inside objects, balanced begin/end, depth at most
 * CTL_JSON_DEPTH_MAX): misuse is a programming error and asserts. */
void ctl_json_init(ctl_json_t *j, FILE *out);
void ctl_json_begin_object(ctl_json_t *j);
void ctl_json_end_object(ctl_json_t *j);
void ctl_json_begin_array(ctl_json_t *j);
void ctl_json_end_array(ctl_json_t *j);
void ctl_json_key(ctl_json_t *j, const char *key);
void ctl_json_string(ctl_json_t *j, const char *s);   /* NULL writes "" */
void ctl_json_int(ctl_json_t *j, int64_t v);
void ctl_json_uint(ctl_json_t *j, uint64_t v);
void ctl_json_null(ctl_json_t *j);

/* key: value shorthands. */
void ctl_json_kv_string(ctl_json_t *j, const char *key, const char *s);
void ctl_json_kv_int(ctl_json_t *j, const char *key, int64_t v);
void ctl_json_kv_uint(ctl_json_t *j, const char *key, uint64_t v);

/* Writes s as a quoted, escaped JSON string. */
void ctl_json_write_string(FILE *out, const char *s);

#endif
