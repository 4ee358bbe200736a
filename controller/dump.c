/* cairn-controller --dump-log: the Raft log as text, one entry per line. */
#include "dump.h"

#include "crc32c.h"
#include "raft_store.h"

int dump_metadata_log(const char *dir, FILE *out)
{
    raft_store_t *s = NULL;
    char err[512];
    raft_store_opts_t opts = { 0 };
    if (raft_store_open(dir, &opts, &s, err, sizeof err) != 0) {
        fprintf(stderr, "cairn-controller: %s\n", err);
        return 1;
    }
    raft_restore_t r;
    raft_store_restore(s, &r);
    fprintf(out, "# term=%llu voted_for=%u snapshot_index=%llu snapshot_term=%llu\n",
            (unsigned long long)r.term, r.voted_for, (unsigned long long)r.snapshot_index,
            (unsigned long long)r.snapshot_term);
    for (size_t i = 0; i < r.n_entries; i++) {
        const raft_entry_t *e = &r.entries[i];
        fprintf(out, "%llu %llu %u %u %08x\n", (unsigned long long)e->index,
                (unsigned long long)e->term, e->type, e->len,
                crc32c(0, e->data, e->len));
    }
    raft_store_close(s);
    return 0;
}
