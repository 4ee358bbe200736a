/* The internal RPC frame codec (DESIGN §3): pure encoding and bounded decoding
 *   u32 frame_length | u32 header_length | RpcHeader | raw payload
 * plus the small socket helpers the server and client share. */
#include "rpc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>

#include "cairn_assert.h"
#include "rpc.pb-c.h"
#include "rpc_internal.h"

/* frame_length counts the header_length field itself. */
#define RPC_LEN_FIELD_BYTES 4u
#define RPC_PREFIX_BYTES (2u * RPC_LEN_FIELD_BYTES)

size_t rpc_frame_max_resolve(size_t frame_max)
{
    if (frame_max == 0)
        return CAIRN_RPC_FRAME_MAX_DEFAULT;
    if (frame_max > UINT32_MAX)
        return UINT32_MAX;
    return frame_max;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Serializes msg into a fresh buffer (*body_out, owned by the caller).
 * Returns -1 if it is over max_bytes or memory runs out. */
static int pack_body(const ProtobufCMessage *msg, size_t max_bytes, uint8_t **body_out,
                     size_t *body_len_out)
{
    *body_out = NULL;
    *body_len_out = 0;
    if (msg == NULL)
        return 0;
    size_t len = protobuf_c_message_get_packed_size(msg);
    if (len > max_bytes)
        return -1;
    if (len == 0)
        return 0;
    uint8_t *body = malloc(len);
    if (body == NULL)
        return -1;
    size_t packed = protobuf_c_message_pack(msg, body);
    CAIRN_ASSERT(packed == len);
    *body_out = body;
    *body_len_out = len;
    return 0;
}

/* The space is reserved up front, so a failure never leaves half a frame in
 * `out` (which would desynchronise the stream). */
static int append_frame(struct evbuffer *out, const Cairn__RpcHeader *hdr, size_t hdr_len,
                        const void *payload, size_t payload_len)
{
    size_t frame_length = RPC_LEN_FIELD_BYTES + hdr_len + payload_len;
    if (evbuffer_expand(out, RPC_PREFIX_BYTES + hdr_len + payload_len) != 0)
        return -1;
    struct evbuffer_iovec vec;
    if (evbuffer_reserve_space(out, (ev_ssize_t)(RPC_PREFIX_BYTES + hdr_len), &vec, 1) != 1)
        return -1;
    uint8_t *p = vec.iov_base;
    put_be32(p, (uint32_t)frame_length);
    put_be32(p + RPC_LEN_FIELD_BYTES, (uint32_t)hdr_len);
    size_t packed = protobuf_c_message_pack(&hdr->base, p + RPC_PREFIX_BYTES);
    CAIRN_ASSERT(packed == hdr_len);
    vec.iov_len = RPC_PREFIX_BYTES + hdr_len;
    if (evbuffer_commit_space(out, &vec, 1) != 0)
        return -1;
    if (payload_len > 0 && evbuffer_add(out, payload, payload_len) != 0)
        return -1;
    return 0;
}

int rpc_frame_write(struct evbuffer *out, uint32_t type, uint64_t correlation_id,
                    bool response, const ProtobufCMessage *msg,
                    const void *payload, size_t payload_len, size_t frame_max)
{
    CAIRN_ASSERT(out != NULL);
    CAIRN_ASSERT(payload != NULL || payload_len == 0);
    size_t max = rpc_frame_max_resolve(frame_max);
    if (payload_len > max)
        return -1;
    uint8_t *body;
    size_t body_len;
    if (pack_body(msg, max, &body, &body_len) != 0)
        return -1;

    Cairn__RpcHeader hdr = CAIRN__RPC_HEADER__INIT;
    hdr.type = (Cairn__RpcType)type;
    hdr.correlation_id = correlation_id;
    hdr.response = response;
    hdr.message.data = body;
    hdr.message.len = body_len;
    size_t hdr_len = protobuf_c_message_get_packed_size(&hdr.base);

    int rc = -1;
    /* Each term is at most max (<= UINT32_MAX), so the sum cannot overflow. */
    if (hdr_len <= max && RPC_LEN_FIELD_BYTES + hdr_len + payload_len <= max)
        rc = append_frame(out, &hdr, hdr_len, payload, payload_len);
    free(body);
    return rc;
}

/* Checks the two length fields, as far as they are buffered. Returns OK when
 * both are present and consistent. */
static rpc_parse_t check_lengths(const uint8_t *buf, size_t len, size_t max,
                                 uint32_t *frame_length, uint32_t *header_length,
                                 const char **why)
{
    if (len < RPC_LEN_FIELD_BYTES)
        return RPC_PARSE_NEED_MORE;
    *frame_length = get_be32(buf);
    if (*frame_length > max) {
        *why = "frame_length over frame_max";
        return RPC_PARSE_ERROR;
    }
    if (*frame_length < RPC_LEN_FIELD_BYTES) {
        *why = "frame_length shorter than the header_length field";
        return RPC_PARSE_ERROR;
    }
    if (len < RPC_PREFIX_BYTES)
        return RPC_PARSE_NEED_MORE;
    *header_length = get_be32(buf + RPC_LEN_FIELD_BYTES);
    if (*header_length > *frame_length - RPC_LEN_FIELD_BYTES) {
        *why = "header_length beyond frame_length";
        return RPC_PARSE_ERROR;
    }
    return RPC_PARSE_OK;
}

rpc_parse_t rpc_frame_parse(const uint8_t *buf, size_t len, size_t frame_max,
                            rpc_frame_t *frame, size_t *consumed, void **scratch,
                            const char **why)
{
    CAIRN_ASSERT(buf != NULL || len == 0);
    *consumed = 0;
    *scratch = NULL;
    *why = NULL;
    uint32_t frame_length = 0, header_length = 0;
    rpc_parse_t r = check_lengths(buf, len, rpc_frame_max_resolve(frame_max),
                                  &frame_length, &header_length, why);
    if (r != RPC_PARSE_OK)
        return r;
    size_t total = RPC_LEN_FIELD_BYTES + (size_t)frame_length;
    if (len < total)
        return RPC_PARSE_NEED_MORE;

    ProtobufCMessage *m = protobuf_c_message_unpack(&cairn__rpc_header__descriptor, NULL,
                                                    header_length, buf + RPC_PREFIX_BYTES);
    if (m == NULL) {
        *why = "header does not decode as RpcHeader";
        return RPC_PARSE_ERROR;
    }
    const Cairn__RpcHeader *hdr = (const Cairn__RpcHeader *)m;
    frame->type = (uint32_t)hdr->type;
    frame->correlation_id = hdr->correlation_id;
    frame->response = hdr->response != 0;
    frame->body = hdr->message.data;
    frame->body_len = hdr->message.len;
    frame->payload = buf + RPC_PREFIX_BYTES + header_length;
    frame->payload_len = frame_length - RPC_LEN_FIELD_BYTES - header_length;
    *scratch = m;
    *consumed = total;
    return RPC_PARSE_OK;
}

void rpc_frame_scratch_free(void *scratch)
{
    if (scratch != NULL)
        protobuf_c_message_free_unpacked(scratch, NULL);
}

rpc_parse_t rpc_frame_next(struct evbuffer *in, size_t frame_max, rpc_frame_t *frame,
                           size_t *consumed, void **scratch, const char **why)
{
    uint8_t prefix[RPC_PREFIX_BYTES];
    ev_ssize_t n = evbuffer_copyout(in, prefix, sizeof prefix);
    if (n < 0)
        n = 0;
    size_t buffered = evbuffer_get_length(in);
    size_t total = 0;
    if (n >= (ev_ssize_t)RPC_LEN_FIELD_BYTES)
        total = RPC_LEN_FIELD_BYTES + (size_t)get_be32(prefix);
    if (n < (ev_ssize_t)RPC_LEN_FIELD_BYTES || buffered < total) {
        /* Incomplete: validate the lengths seen so far from the copy, so a
         * bad prefix fails now rather than after the peer fills memory. */
        return rpc_frame_parse(prefix, (size_t)n, frame_max, frame, consumed, scratch, why);
    }
    uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)total);
    if (p == NULL) {
        *consumed = 0;
        *scratch = NULL;
        *why = "out of memory assembling a frame";
        return RPC_PARSE_ERROR;
    }
    return rpc_frame_parse(p, total, frame_max, frame, consumed, scratch, why);
}

void rpc_format_sockaddr(const struct sockaddr *sa, char *out, size_t out_len)
{
    CAIRN_ASSERT(out_len > 0);
    char ip[INET6_ADDRSTRLEN];
    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
        if (inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof ip) != NULL) {
            snprintf(out, out_len, "%s:%u", ip, (unsigned)ntohs(in4->sin_port));
            return;
        }
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip) != NULL) {
            snprintf(out, out_len, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
            return;
        }
    }
    snprintf(out, out_len, "?");
}

void rpc_set_nodelay(evutil_socket_t fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}
