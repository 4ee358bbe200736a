/* Durable Raft state of one controller under metadata.log.dir (DESIGN §4):
 *   quorum-state                     term and vote (write tmp, fsync, rename, fsync dir)
 *   raft/<20-digit first index>.log  log segments; each entry framed with
 *                                    length and CRC32C
 *   raft/<20-digit index>-<term>.snapshot  metadata image snapshots
 * A torn or corrupt tail found at open is truncated (and logged); anything
 * before it is kept. Runs on the controller's loop thread; every call that
 * writes blocks until its data is written (fsync where stated). */
#ifndef CAIRN_RAFT_STORE_H
#define CAIRN_RAFT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "raft.h"

typedef struct raft_store raft_store_t;

typedef struct raft_store_opts {
    uint64_t segment_bytes;        /* roll the log segment past this; 0: 8 MiB */
    size_t entry_max_bytes;        /* larger entries are refused / treated as corrupt; 0: 64 MiB */
} raft_store_opts_t;

/* Opens (creating if needed) the store in dir and loads the quorum state,
 * the newest valid snapshot and every valid entry after it. Returns 0 and an
 * owned store, or -1 with one line in err. */
int raft_store_open(const char *dir, const raft_store_opts_t *opts, raft_store_t **out,
                    char *err, size_t err_len);
/* Closes without syncing: call raft_store_sync first for anything that must
 * be durable. */
void raft_store_close(raft_store_t *s);

/* The loaded state, for raft_create. Call it right after open, before any
 * change: the loaded copy is released by the first change (asserted). */
void raft_store_restore(const raft_store_t *s, raft_restore_t *out);

/* Atomically replaces quorum-state and fsyncs it (and its directory). */
int raft_store_save_hard_state(raft_store_t *s, uint64_t term, uint32_t voted_for);

/* Appends entries (consecutive indexes). If entries[0].index is at or below
 * the last stored index, the log is first truncated from that index on; it
 * never truncates at or below the snapshot index. Not yet durable: call
 * raft_store_sync. Returns 0 or -1 (I/O error, logged). */
int raft_store_append(raft_store_t *s, const raft_entry_t *entries, size_t n);

/* Makes every appended entry durable (fdatasync of what was written). */
int raft_store_sync(raft_store_t *s);

/* Writes a snapshot of the state machine at (index, term) durably, then
 * deletes log segments wholly covered by it and older snapshots. */
int raft_store_save_snapshot(raft_store_t *s, uint64_t index, uint64_t term,
                             const uint8_t *data, size_t len);

/* Installs a snapshot received from the leader: saves it durably and
 * discards the whole log, which restarts at index + 1. */
int raft_store_install_snapshot(raft_store_t *s, uint64_t index, uint64_t term,
                                const uint8_t *data, size_t len);

uint64_t raft_store_last_index(const raft_store_t *s);
uint64_t raft_store_snapshot_index(const raft_store_t *s);

#endif
