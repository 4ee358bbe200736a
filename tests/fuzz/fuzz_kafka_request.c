/* libFuzzer target for the Kafka request codec. Input: one request frame
 * as the listener hands it over (header + body, without the int32 size).
 * It decodes the header, then the body with the decoder of that api key
 * and version when Cairn implements them (and, for the test-client path,
 * with the matching response decoder), and checks that whatever decodes
 * re-encodes, decodes again, and re-encodes to the same bytes. It must
 * never crash, leak or trip a sanitizer.
 *
 * Build (clang 14 with libclang-rt-14-dev here):
 *   CC=clang meson setup build-fuzz -Db_sanitize=address,undefined -Db_lundef=false \
 *       -Dc_args=-fsanitize=fuzzer-no-link
 *   ninja -C build-fuzz tests/fuzz/fuzz_kafka_request
 * Run (new inputs go to the first directory; keep a scratch copy):
 *   mkdir -p /tmp/kafka-corpus && cp -r tests/fuzz/corpus/kafka_request/. /tmp/kafka-corpus/
 *   ./build-fuzz/tests/fuzz/fuzz_kafka_request -max_len=4096 -max_total_time=300 /tmp/kafka-corpus
 * Reproduce a crash: ./build-fuzz/tests/fuzz/fuzz_kafka_request crash-<hash>
 * Without clang, tests/fuzz/replay_main.c runs this entry point over the
 * committed seeds as the unit test kafka-fuzz-replay. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "arena.h"
#include "cairn_assert.h"
#include "kafka_messages.h"
#include "kcodec.h"
#include "kheader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* The entry point's work: 1 if the frame's request decoded, else 0. A
 * codec bug aborts. Also called by the replay driver. */
int fuzz_one(const uint8_t *data, size_t size);

/* As the broker bounds a request: a few times its size. */
#define ARENA_CAP(size) (4 * (size) + (64u << 10))

/* Encodes m into a fresh evbuffer; returns it (caller frees). */
static struct evbuffer *encode(kafka_encode_fn enc, int16_t version, const void *m)
{
    struct evbuffer *buf = evbuffer_new();
    CAIRN_ASSERT(buf != NULL);
    kafka_wr_t wr;
    kafka_wr_init(&wr, buf);
    enc(&wr, version, m);
    /* Only a string over 32767 bytes fails, and a decoded one never is. */
    CAIRN_ASSERT(kafka_wr_finish(&wr) == 0);
    return buf;
}

/* Decodes body with dec; if it decodes, encode -> decode -> encode must be
 * stable. Returns whether it decoded. */
static bool check_body(kafka_decode_fn dec, kafka_encode_fn enc, size_t msg_size, int16_t version,
                       const uint8_t *body, size_t body_len)
{
    kafka_arena_t a;
    kafka_arena_init(&a, ARENA_CAP(body_len));
    void *m = malloc(msg_size);
    void *again = malloc(msg_size);
    CAIRN_ASSERT(m && again);
    kafka_rd_t rd;
    kafka_rd_init(&rd, body, body_len);
    bool ok = dec(&rd, version, &a, m) == 0;
    if (ok) {
        CAIRN_ASSERT(!rd.failed && rd.off == body_len);
        struct evbuffer *e1 = encode(enc, version, m);
        size_t n1 = evbuffer_get_length(e1);
        uint8_t *b1 = evbuffer_pullup(e1, -1);
        kafka_arena_t a2;
        kafka_arena_init(&a2, ARENA_CAP(n1) + ARENA_CAP(body_len));
        kafka_rd_t rd2;
        kafka_rd_init(&rd2, b1, n1);
        CAIRN_ASSERT(dec(&rd2, version, &a2, again) == 0);
        struct evbuffer *e2 = encode(enc, version, again);
        size_t n2 = evbuffer_get_length(e2);
        CAIRN_ASSERT(n1 == n2);
        CAIRN_ASSERT(n1 == 0 || memcmp(b1, evbuffer_pullup(e2, -1), n1) == 0);
        evbuffer_free(e2);
        kafka_arena_free(&a2);
        evbuffer_free(e1);
    } else {
        CAIRN_ASSERT(rd.failed && rd.err != NULL);
    }
    free(again);
    free(m);
    kafka_arena_free(&a);
    return ok;
}

int fuzz_one(const uint8_t *data, size_t size)
{
    int decoded = 0;
    /* Owned and exactly sized, as the listener's frames are, so a read one
     * byte too far is an ASan report. */
    uint8_t *frame = malloc(size ? size : 1);
    CAIRN_ASSERT(frame != NULL);
    if (size)
        memcpy(frame, data, size);
    kafka_rd_t rd;
    kafka_rd_init(&rd, frame, size);
    kafka_request_header_t h;
    if (kafka_request_header_decode(&rd, &h) == 0) {
        /* The header re-encodes to what was read, tags aside. */
        struct evbuffer *hb = evbuffer_new();
        kafka_wr_t wr;
        kafka_wr_init(&wr, hb);
        char *client_id = NULL;
        if (h.client_id) {
            client_id = malloc((size_t)h.client_id_len + 1);
            memcpy(client_id, h.client_id, (size_t)h.client_id_len);
            client_id[h.client_id_len] = '\0';
        }
        kafka_request_header_encode(&wr, h.api_key, h.api_version, h.correlation_id, client_id);
        CAIRN_ASSERT(kafka_wr_finish(&wr) == 0);
        if (h.header_version == 1)
            CAIRN_ASSERT(evbuffer_get_length(hb) == rd.off &&
                         memcmp(evbuffer_pullup(hb, -1), frame, rd.off) == 0);
        evbuffer_free(hb);
        free(client_id);

        const kafka_api_desc_t *d = kafka_api_desc(h.api_key);
        if (d && h.api_version >= d->min_version && h.api_version <= d->max_version) {
            const uint8_t *body = frame + rd.off;
            size_t body_len = size - rd.off;
            decoded = check_body(d->request_decode, d->request_encode, d->request_size,
                                 h.api_version, body, body_len);
            check_body(d->response_decode, d->response_encode, d->response_size, h.api_version,
                       body, body_len);
        }
    }
    free(frame);
    return decoded;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one(data, size);
    return 0;
}
