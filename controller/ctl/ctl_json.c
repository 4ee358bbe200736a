/* Streaming JSON writer: tracks open containers so commas and colons land in
 * the right places, and escapes every string it writes. */
#include "ctl_json.h"

#include <inttypes.h>

#include "cairn_assert.h"

void ctl_json_init(ctl_json_t *j, FILE *out)
{
    j->out = out;
    j->depth = 0;
    j->after_key = false;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 if it is not one. */
static size_t utf8_seq_len(const unsigned char *s)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

void ctl_json_write_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    fputc('"', out);
    while (*p) {
        unsigned char c = *p;
        const char *esc = NULL;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default: break;
        }
        if (esc) {
            fputs(esc, out);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\u%04x", c);
            p++;
        } else {
            size_t n = utf8_seq_len(p);
            if (n == 0) {
                fputs("\\ufffd", out);
                n = 1;
            } else
                fwrite(p, 1, n, out);
            p += n;
        }
    }
    fputc('"', out);
}

/* Writes the separator a new value needs in the current container. */
static void before_value(ctl_json_t *j)
{
    if (j->depth == 0)
        return;
    if (j->is_object[j->depth - 1]) {
        CAIRN_ASSERT(j->after_key);
        j->after_key = false;
        return;
    }
    if (j->has_items[j->depth - 1])
        fputs(", ", j->out);
    j->has_items[j->depth - 1] = true;
}

static void begin(ctl_json_t *j, bool object)
{
    before_value(j);
    CAIRN_ASSERT(j->depth < CTL_JSON_DEPTH_MAX);
    j->is_object[j->depth] = object;
    j->has_items[j->depth] = false;
    j->depth++;
    fputc(object ? '{' : '[', j->out);
}

static void end(ctl_json_t *j, bool object)
{
    CAIRN_ASSERT(j->depth > 0 && j->is_object[j->depth - 1] == object && !j->after_key);
    j->depth--;
    fputc(object ? '}' : ']', j->out);
}

void ctl_json_begin_object(ctl_json_t *j) { begin(j, true); }
void ctl_json_end_object(ctl_json_t *j) { end(j, true); }
void ctl_json_begin_array(ctl_json_t *j) { begin(j, false); }
void ctl_json_end_array(ctl_json_t *j) { end(j, false); }

void ctl_json_key(ctl_json_t *j, const char *key)
{
    CAIRN_ASSERT(j->depth > 0 && j->is_object[j->depth - 1] && !j->after_key);
    if (j->has_items[j->depth - 1])
        fputs(", ", j->out);
    j->has_items[j->depth - 1] = true;
    ctl_json_write_string(j->out, key);
    fputs(": ", j->out);
    j->after_key = true;
}

void ctl_json_string(ctl_json_t *j, const char *s)
{
    before_value(j);
    ctl_json_write_string(j->out, s);
}

void ctl_json_int(ctl_json_t *j, int64_t v)
{
    before_value(j);
    fprintf(j->out, "%" PRId64, v);
}

void ctl_json_uint(ctl_json_t *j, uint64_t v)
{
    before_value(j);
    fprintf(j->out, "%" PRIu64, v);
}

void ctl_json_null(ctl_json_t *j)
{
    before_value(j);
    fputs("null", j->out);
}

void ctl_json_kv_string(ctl_json_t *j, const char *key, const char *s)
{
    ctl_json_key(j, key);
    ctl_json_string(j, s);
}

void ctl_json_kv_int(ctl_json_t *j, const char *key, int64_t v)
{
    ctl_json_key(j, key);
    ctl_json_int(j, v);
}

void ctl_json_kv_uint(ctl_json_t *j, const char *key, uint64_t v)
{
    ctl_json_key(j, key);
    ctl_json_uint(j, v);
}
