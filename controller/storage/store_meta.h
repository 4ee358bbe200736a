/* The quorum-state and snapshot files of the controller's Raft storage
 * (layouts at the top of raft_store.c): durable writes and verified reads. */
#ifndef CAIRN_STORE_META_H
#define CAIRN_STORE_META_H

#include <stddef.h>
#include <stdint.h>

#include "store_file.h"

#define STORE_META_QUORUM_FILE "quorum-state"
/* u32 length | u32 crc32c before the QuorumState / SnapshotHeader bytes. */
#define STORE_META_PREFIX_BYTES 8
/* Both messages hold a few varints; anything longer is corrupt. */
#define STORE_META_MESSAGE_MAX_BYTES 64

/* Atomically replaces quorum-state in dir_fd (tmp, fsync, rename, fsync dir). */
store_file_rc_t store_meta_write_quorum(int dir_fd, uint64_t term, uint32_t voted_for);

/* Reads quorum-state from dir_fd. Returns 1 and the values, 0 when the file
 * does not exist (a new node), or -1 with a one-line reason in why
 * (unreadable or corrupt). */
int store_meta_read_quorum(int dir_fd, uint64_t *term, uint32_t *voted_for,
                           char *why, size_t why_len);

/* Durably writes snapshot file name in raft_fd: SnapshotHeader then the
 * image (borrowed, len bytes). */
store_file_rc_t store_meta_write_snapshot(int raft_fd, const char *name, uint64_t index,
                                          uint64_t term, const uint8_t *data, size_t len);

/* Reads and verifies snapshot file name, which must hold (index, term) and
 * an image of at most max_bytes. Returns 0 with an owned image in *data (never
 * NULL; free() it) of *len bytes, or -1 with a one-line reason in why. */
int store_meta_read_snapshot(int raft_fd, const char *name, uint64_t index, uint64_t term,
                             size_t max_bytes, uint8_t **data, size_t *len, char *why,
                             size_t why_len);

#endif
