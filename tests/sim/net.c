/* The simulated network: a min-heap of packets by delivery time. Each send
 * may be dropped, duplicated or delayed by a random latency (so messages
 * reorder); cut links drop both at send and at delivery time. */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

void sim_net_init(sim_net_t *net)
{
    memset(net, 0, sizeof *net);
}

void sim_net_free(sim_net_t *net)
{
    for (size_t i = 0; i < net->n; i++)
        free(net->heap[i]);
    free(net->heap);
    memset(net, 0, sizeof *net);
}

void sim_net_heal(sim_net_t *net)
{
    memset(net->cut, 0, sizeof net->cut);
}

static bool before(const sim_packet_t *a, const sim_packet_t *b)
{
    return a->deliver_ms < b->deliver_ms ||
           (a->deliver_ms == b->deliver_ms && a->seq < b->seq);
}

static void heap_push(sim_net_t *net, sim_packet_t *p)
{
    if (net->n == net->cap) {
        net->cap = net->cap ? net->cap * 2 : 256;
        net->heap = realloc(net->heap, net->cap * sizeof *net->heap);
        if (!net->heap)
            abort();
    }
    size_t i = net->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(p, net->heap[parent]))
            break;
        net->heap[i] = net->heap[parent];
        i = parent;
    }
    net->heap[i] = p;
}

sim_packet_t *sim_net_pop(sim_net_t *net)
{
    if (net->n == 0)
        return NULL;
    sim_packet_t *top = net->heap[0];
    sim_packet_t *last = net->heap[--net->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= net->n)
            break;
        if (c + 1 < net->n && before(net->heap[c + 1], net->heap[c]))
            c++;
        if (!before(net->heap[c], last))
            break;
        net->heap[i] = net->heap[c];
        i = c;
    }
    if (net->n)
        net->heap[i] = last;
    return top;
}

uint64_t sim_net_next_ms(const sim_net_t *net)
{
    return net->n ? net->heap[0]->deliver_ms : UINT64_MAX;
}

/* One allocation holds the packet, its entries, their data and the snapshot. */
static sim_packet_t *packet_copy(const raft_msg_t *m)
{
    size_t size = sizeof(sim_packet_t) + m->n_entries * sizeof(raft_entry_t) + m->snapshot_len;
    for (size_t i = 0; i < m->n_entries; i++)
        size += m->entries[i].len;
    sim_packet_t *p = malloc(size);
    if (!p)
        abort();
    p->msg = *m;
    raft_entry_t *ents = (raft_entry_t *)(p + 1);
    uint8_t *bytes = (uint8_t *)(ents + m->n_entries);
    p->msg.entries = m->n_entries ? ents : NULL;
    for (size_t i = 0; i < m->n_entries; i++) {
        ents[i] = m->entries[i];
        if (ents[i].len) {
            memcpy(bytes, m->entries[i].data, ents[i].len);
            ents[i].data = bytes;
            bytes += ents[i].len;
        }
    }
    if (m->snapshot_len) {
        memcpy(bytes, m->snapshot, m->snapshot_len);
        p->msg.snapshot = bytes;
    }
    return p;
}

void sim_net_send(sim_net_t *net, sim_rng_t *g, const raft_msg_t *m, uint64_t now_ms)
{
    net->sent++;
    if (net->cut[m->from][m->to] || sim_chance(g, net->drop_per_mille) ||
        net->n >= SIM_NET_MAX_PACKETS) {
        net->dropped++;
        return;
    }
    int copies = 1;
    if (sim_chance(g, net->dup_per_mille)) {
        copies = 2;
        net->duplicated++;
    }
    for (int i = 0; i < copies; i++) {
        sim_packet_t *p = packet_copy(m);
        p->deliver_ms = now_ms + sim_range(g, net->latency_min_ms, net->latency_max_ms);
        p->seq = net->seq++;
        heap_push(net, p);
    }
}
