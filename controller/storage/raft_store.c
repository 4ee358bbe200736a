/* Durable Raft storage of one controller (DESIGN §4): term and vote, log
 * segments and snapshots under metadata.log.dir; recovery of a torn or
 * corrupt log tail at open.
 *
 * On-disk format (every integer little-endian):
 *   quorum-state    u32 len | u32 crc32c | QuorumState (proto/storage.proto)
 *                   CRC over the len field, then the message
 *   raft/<20-digit first index>.log   frames back to back, one per entry:
 *                   u32 data_len | u32 crc32c | u64 index | u64 term | u32 type | data
 *                   CRC over every byte of the frame except itself
 *                   (length, index, term, type, data); data_len bounded by
 *                   entry_max_bytes, a larger one is corruption
 *   raft/<20-digit index>-<term>.snapshot
 *                   u32 len | u32 crc32c | SnapshotHeader | image
 *                   CRC over the len field and the header; the header holds
 *                   the image's length and CRC32C
 * Files are written as <name>.tmp, fsync'd, renamed and the directory
 * fsync'd; open removes leftover .tmp files. The log is continuous: the
 * first segment starts at or below snapshot index + 1, each next segment at
 * the previous one's last index + 1. Terms never decrease along the log.
 * The directory is flock'ed so two processes never share it. */
#include "raft_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn_assert.h"
#include "log.h"
#include "store_file.h"
#include "store_frame.h"
#include "store_meta.h"

#define LOG_COMP "raft_store"
#define RAFT_SUBDIR "raft"
#define INDEX_DIGITS 20
#define SEGMENT_SUFFIX ".log"
#define SNAPSHOT_SUFFIX ".snapshot"
#define FILE_NAME_BYTES 64                /* 20 digits, '-', 20 digits, suffixes */

#define DEFAULT_SEGMENT_BYTES ((uint64_t)8 << 20)
#define DEFAULT_ENTRY_MAX_BYTES ((size_t)64 << 20)
#define ENTRY_MAX_BYTES_LIMIT ((size_t)1 << 30)
#define SNAPSHOT_MAX_BYTES ((size_t)1 << 30)
#define MAX_SEGMENTS 65536                /* per store; 512 GiB at the default size */
#define MAX_SNAPSHOT_FILES 1024           /* considered at open */
#define APPEND_BATCH_ENTRIES 64           /* frames per writev */

_Static_assert(ENTRY_MAX_BYTES_LIMIT <= UINT32_MAX - STORE_FRAME_HEADER_BYTES,
               "an entry's length fits the frame's u32 length field");

typedef struct segment {
    uint64_t first_index;                 /* from the file name */
    uint64_t last_index;                  /* first_index - 1 while empty */
    uint64_t last_term;
    uint64_t size_bytes;
} segment_t;

/* What open read, for raft_store_restore; released at the first change. */
typedef struct loaded {
    bool held;
    uint8_t *snapshot;
    size_t snapshot_len;
    raft_entry_t *entries;
    size_t n_entries;
    size_t cap_entries;
} loaded_t;

struct raft_store {
    char *dir;
    int dir_fd;                           /* holds the flock */
    int raft_fd;                          /* dir/raft */
    int active_fd;                        /* last segment, append-only; -1 if none */
    uint64_t segment_bytes;
    size_t entry_max_bytes;

    uint64_t term;
    uint32_t voted_for;
    uint64_t snapshot_index;              /* 0: none */
    uint64_t snapshot_term;
    uint64_t last_index;                  /* snapshot_index when the log is empty */
    uint64_t last_term;

    segment_t *segs;
    size_t n_segs;
    size_t cap_segs;

    bool dirty;                           /* appended since the last sync */
    bool dir_dirty;                       /* a segment was created since the last sync */
    bool failed;                          /* a sync or cleanup failed: disk state unknown */
    loaded_t loaded;
};

/* ---- names and small helpers ---- */

static void segment_name(char name[FILE_NAME_BYTES], uint64_t first_index)
{
    snprintf(name, FILE_NAME_BYTES, "%0*" PRIu64 SEGMENT_SUFFIX, INDEX_DIGITS, first_index);
}

static void snapshot_name(char name[FILE_NAME_BYTES], uint64_t index, uint64_t term)
{
    snprintf(name, FILE_NAME_BYTES, "%0*" PRIu64 "-%" PRIu64 SNAPSHOT_SUFFIX, INDEX_DIGITS,
             index, term);
}

static bool parse_digits(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > INDEX_DIGITS)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool has_suffix(const char *name, const char *suffix, size_t *stem_len)
{
    size_t n = strlen(name), k = strlen(suffix);
    if (n < k || strcmp(name + n - k, suffix) != 0)
        return false;
    *stem_len = n - k;
    return true;
}

static bool parse_segment_name(const char *name, uint64_t *first_index)
{
    size_t stem;
    return has_suffix(name, SEGMENT_SUFFIX, &stem) && stem == INDEX_DIGITS &&
           parse_digits(name, stem, first_index) && *first_index > 0;
}

static bool parse_snapshot_name(const char *name, uint64_t *index, uint64_t *term)
{
    size_t stem;
    return has_suffix(name, SNAPSHOT_SUFFIX, &stem) && stem > INDEX_DIGITS + 1 &&
           name[INDEX_DIGITS] == '-' && parse_digits(name, INDEX_DIGITS, index) &&
           *index > 0 &&
           parse_digits(name + INDEX_DIGITS + 1, stem - INDEX_DIGITS - 1, term);
}

static bool grow(void **arr, size_t *cap, size_t need, size_t elem_bytes)
{
    if (need <= *cap)
        return true;
    size_t cap_new = *cap > 0 ? *cap * 2 : 16;
    while (cap_new < need)
        cap_new *= 2;
    void *p = realloc(*arr, cap_new * elem_bytes);
    if (p == NULL)
        return false;
    *arr = p;
    *cap = cap_new;
    return true;
}

/* After a failed fsync the kernel may have dropped the dirty pages, so a
 * retry could report success for data that is gone: stop writing. */
static void fail_store(raft_store_t *s, const char *what, const char *name)
{
    LOG_ERROR(LOG_COMP, "%s: %s %s failed: %s; refusing further writes until restart",
              s->dir, what, name, strerror(errno));
    s->failed = true;
}

static bool refuse_if_failed(const raft_store_t *s, const char *op)
{
    if (s->failed)
        LOG_ERROR(LOG_COMP, "%s: %s refused: an earlier write or sync failed", s->dir, op);
    return s->failed;
}

static void release_loaded(raft_store_t *s)
{
    loaded_t *l = &s->loaded;
    for (size_t i = 0; i < l->n_entries; i++)
        free(l->entries[i].data);
    free(l->entries);
    free(l->snapshot);
    memset(l, 0, sizeof *l);
}

static int open_active(raft_store_t *s)
{
    CAIRN_ASSERT(s->active_fd < 0);
    if (s->n_segs == 0)
        return 0;
    char name[FILE_NAME_BYTES];
    segment_name(name, s->segs[s->n_segs - 1].first_index);
    s->active_fd = openat(s->raft_fd, name, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (s->active_fd < 0) {
        LOG_ERROR(LOG_COMP, "%s: open of %s/%s failed: %s", s->dir, RAFT_SUBDIR, name,
                  strerror(errno));
        return -1;
    }
    return 0;
}

static void close_active(raft_store_t *s)
{
    if (s->active_fd >= 0)
        close(s->active_fd);
    s->active_fd = -1;
}

/* Removes segments [from, n_segs) from the back, so a crash part way leaves
 * a shorter but still continuous log. Does not fsync the directory. */
static int remove_segments_from(raft_store_t *s, size_t from)
{
    if (from < s->n_segs)
        close_active(s);
    while (s->n_segs > from) {
        char name[FILE_NAME_BYTES];
        segment_name(name, s->segs[s->n_segs - 1].first_index);
        if (store_file_unlink(s->raft_fd, name) != 0) {
            fail_store(s, "unlink of", name);
            return -1;
        }
        s->n_segs--;
    }
    return 0;
}

/* Removes the leading segments whose every entry is at or below upto (the
 * segment holding upto + 1 stays), then fsyncs the directory. */
static int drop_covered_segments(raft_store_t *s, uint64_t upto)
{
    size_t k = 0;
    while (k < s->n_segs && s->segs[k].last_index <= upto)
        k++;
    if (k == 0)
        return 0;
    if (k == s->n_segs)
        close_active(s);
    for (size_t i = 0; i < k; i++) {
        char name[FILE_NAME_BYTES];
        segment_name(name, s->segs[i].first_index);
        if (store_file_unlink(s->raft_fd, name) != 0) {
            memmove(s->segs, s->segs + i, (s->n_segs - i) * sizeof *s->segs);
            s->n_segs -= i;
            fail_store(s, "unlink of", name);
            return -1;
        }
    }
    memmove(s->segs, s->segs + k, (s->n_segs - k) * sizeof *s->segs);
    s->n_segs -= k;
    if (store_file_fsync_dir(s->raft_fd) != 0) {
        fail_store(s, "fsync of", RAFT_SUBDIR);
        return -1;
    }
    return 0;
}

/* ---- open: directories and quorum state ---- */

static int apply_opts(raft_store_t *s, const raft_store_opts_t *opts, char *err,
                      size_t err_len)
{
    s->segment_bytes = opts != NULL && opts->segment_bytes > 0 ? opts->segment_bytes
                                                               : DEFAULT_SEGMENT_BYTES;
    s->entry_max_bytes = opts != NULL && opts->entry_max_bytes > 0 ? opts->entry_max_bytes
                                                                   : DEFAULT_ENTRY_MAX_BYTES;
    if (s->entry_max_bytes > ENTRY_MAX_BYTES_LIMIT) {
        snprintf(err, err_len, "entry_max_bytes %zu over the %zu limit", s->entry_max_bytes,
                 ENTRY_MAX_BYTES_LIMIT);
        return -1;
    }
    return 0;
}

static int open_dirs(raft_store_t *s, const char *dir, char *err, size_t err_len)
{
    if (store_file_mkdirs(dir) != 0) {
        snprintf(err, err_len, "%s: cannot create directory: %s", dir, strerror(errno));
        return -1;
    }
    s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dir_fd < 0) {
        snprintf(err, err_len, "%s: cannot open directory: %s", dir, strerror(errno));
        return -1;
    }
    if (flock(s->dir_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, err_len, "%s: %s", dir, errno == EWOULDBLOCK
                 ? "in use by another process (locked)" : strerror(errno));
        return -1;
    }
    if (store_file_unlink(s->dir_fd, STORE_META_QUORUM_FILE STORE_FILE_TMP_SUFFIX) != 0) {
        snprintf(err, err_len, "%s: cannot remove %s%s: %s", dir, STORE_META_QUORUM_FILE,
                 STORE_FILE_TMP_SUFFIX, strerror(errno));
        return -1;
    }
    int rc = mkdirat(s->dir_fd, RAFT_SUBDIR, 0755);
    if ((rc != 0 && errno != EEXIST) || (rc == 0 && store_file_fsync_dir(s->dir_fd) != 0)) {
        snprintf(err, err_len, "%s/%s: cannot create directory: %s", dir, RAFT_SUBDIR,
                 strerror(errno));
        return -1;
    }
    s->raft_fd = openat(s->dir_fd, RAFT_SUBDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->raft_fd < 0) {
        snprintf(err, err_len, "%s/%s: cannot open directory: %s", dir, RAFT_SUBDIR,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* A corrupt quorum-state is fatal: starting from term 0 with no vote could
 * let this voter vote twice in one term and elect two leaders. */
static int load_quorum(raft_store_t *s, char *err, size_t err_len)
{
    char why[160];
    int rc = store_meta_read_quorum(s->dir_fd, &s->term, &s->voted_for, why, sizeof why);
    if (rc < 0) {
        snprintf(err, err_len, "%s/%s: %s; refusing to start (a forgotten vote could elect "
                 "two leaders in one term)", s->dir, STORE_META_QUORUM_FILE, why);
        return -1;
    }
    return 0;
}

/* ---- open: listing, snapshot, segments ---- */

typedef struct snap_file {
    uint64_t index;
    uint64_t term;
} snap_file_t;

typedef struct listing {
    uint64_t *seg_firsts;
    size_t n_segs;
    size_t cap_segs;
    snap_file_t *snaps;
    size_t n_snaps;
    size_t cap_snaps;
} listing_t;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Newest first. */
static int cmp_snap_desc(const void *a, const void *b)
{
    const snap_file_t *x = a, *y = b;
    if (x->index != y->index)
        return (x->index < y->index) - (x->index > y->index);
    return (x->term < y->term) - (x->term > y->term);
}

/* Sorts one raft/ entry into the listing. Returns -1 (err set) on a bound
 * or allocation failure. */
static int list_one(raft_store_t *s, listing_t *l, const char *name, char *err,
                    size_t err_len)
{
    uint64_t a, b;
    size_t stem;
    if (parse_segment_name(name, &a)) {
        if (l->n_segs >= MAX_SEGMENTS ||
            !grow((void **)&l->seg_firsts, &l->cap_segs, l->n_segs + 1, sizeof a)) {
            snprintf(err, err_len, "%s/%s: more than %d segments or out of memory", s->dir,
                     RAFT_SUBDIR, MAX_SEGMENTS);
            return -1;
        }
        l->seg_firsts[l->n_segs++] = a;
    } else if (parse_snapshot_name(name, &a, &b)) {
        if (l->n_snaps >= MAX_SNAPSHOT_FILES ||
            !grow((void **)&l->snaps, &l->cap_snaps, l->n_snaps + 1, sizeof *l->snaps)) {
            snprintf(err, err_len, "%s/%s: more than %d snapshots or out of memory", s->dir,
                     RAFT_SUBDIR, MAX_SNAPSHOT_FILES);
            return -1;
        }
        l->snaps[l->n_snaps++] = (snap_file_t){ a, b };
    } else if (has_suffix(name, STORE_FILE_TMP_SUFFIX, &stem)) {
        /* A write that never reached its rename: it never counted. */
        if (store_file_unlink(s->raft_fd, name) != 0)
            LOG_WARN(LOG_COMP, "%s/%s/%s: cannot remove leftover: %s", s->dir, RAFT_SUBDIR,
                     name, strerror(errno));
    } else if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
        LOG_WARN(LOG_COMP, "%s/%s/%s: unexpected file, ignored", s->dir, RAFT_SUBDIR, name);
    }
    return 0;
}

static int list_raft_dir(raft_store_t *s, listing_t *l, char *err, size_t err_len)
{
    int fd = openat(s->raft_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        snprintf(err, err_len, "%s/%s: cannot list: %s", s->dir, RAFT_SUBDIR, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL)
        rc = list_one(s, l, de->d_name, err, err_len);
    closedir(d);
    if (rc == 0 && l->n_segs > 1)
        qsort(l->seg_firsts, l->n_segs, sizeof *l->seg_firsts, cmp_u64);
    if (rc == 0 && l->n_snaps > 1)
        qsort(l->snaps, l->n_snaps, sizeof *l->snaps, cmp_snap_desc);
    return rc;
}

/* Loads the newest snapshot that verifies. A corrupt newest one falls back
 * to an older one; none valid while some exist is fatal, since the entries
 * they covered are gone from the log. */
static int load_snapshot(raft_store_t *s, const listing_t *l, char *err, size_t err_len)
{
    char why[160] = "";
    for (size_t i = 0; i < l->n_snaps; i++) {
        char name[FILE_NAME_BYTES];
        snapshot_name(name, l->snaps[i].index, l->snaps[i].term);
        uint8_t *data;
        size_t len;
        if (store_meta_read_snapshot(s->raft_fd, name, l->snaps[i].index, l->snaps[i].term,
                                     SNAPSHOT_MAX_BYTES, &data, &len, why, sizeof why) == 0) {
            s->snapshot_index = l->snaps[i].index;
            s->snapshot_term = l->snaps[i].term;
            s->loaded.snapshot = data;
            s->loaded.snapshot_len = len;
            return 0;
        }
        LOG_WARN(LOG_COMP, "%s/%s/%s: unusable snapshot (%s)%s", s->dir, RAFT_SUBDIR, name,
                 why, i + 1 < l->n_snaps ? "; falling back to an older one" : "");
    }
    if (l->n_snaps > 0) {
        snprintf(err, err_len, "%s/%s: no valid snapshot among %zu (newest: %s)", s->dir,
                 RAFT_SUBDIR, l->n_snaps, why);
        return -1;
    }
    return 0;
}

/* Keeps each valid entry above the snapshot. The entry at the snapshot's
 * index must carry its term and later ones no lower a term: otherwise the
 * log predates a snapshot installed from the leader (a crash between
 * writing it and discarding the log) and must not be resurrected (Raft §7). */
static int load_entry(void *ctx, const raft_entry_t *e, const char **reason)
{
    raft_store_t *s = ctx;
    if (e->index < s->snapshot_index)
        return 0;
    if (e->index == s->snapshot_index) {
        if (e->term == s->snapshot_term)
            return 0;
        *reason = "term differs from the snapshot's at its index (stale log)";
        return 1;
    }
    if (e->term < s->snapshot_term) {
        *reason = "term below the snapshot's (stale log)";
        return 1;
    }
    loaded_t *l = &s->loaded;
    if (!grow((void **)&l->entries, &l->cap_entries, l->n_entries + 1, sizeof *l->entries))
        return -1;
    raft_entry_t copy = *e;
    if (e->len > 0) {
        copy.data = malloc(e->len);
        if (copy.data == NULL)
            return -1;
        memcpy(copy.data, e->data, e->len);
    }
    l->entries[l->n_entries++] = copy;
    return 0;
}

/* Scans one segment file, appending its valid entries to s->loaded. */
static int scan_segment(raft_store_t *s, const char *name, store_scan_t *sc, char *err,
                        size_t err_len)
{
    int fd = openat(s->raft_fd, name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, err_len, "%s/%s/%s: cannot read: %s", s->dir, RAFT_SUBDIR, name,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    uint64_t size = (uint64_t)st.st_size;
    void *map = size > 0 ? mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, err_len, "%s/%s/%s: cannot map: %s", s->dir, RAFT_SUBDIR, name,
                 strerror(errno));
        return -1;
    }
    int rc = store_frame_scan(map, size, s->entry_max_bytes, UINT64_MAX, sc, load_entry, s);
    if (map != NULL)
        munmap(map, (size_t)size);
    if (rc != 0)
        snprintf(err, err_len, "%s/%s/%s: out of memory loading entries", s->dir,
                 RAFT_SUBDIR, name);
    else if (sc->reason == NULL && sc->valid_bytes == 0)
        sc->reason = "empty segment";
    return rc;
}

/* The first invalid entry ends the log: cut listed segment i at keep_bytes
 * (remove it when nothing stays) and remove every later segment. index is
 * the first index no longer in the log. */
static int end_log_at(raft_store_t *s, const listing_t *l, size_t i, uint64_t keep_bytes,
                      uint64_t index, const char *reason, char *err, size_t err_len)
{
    char name[FILE_NAME_BYTES];
    for (size_t j = l->n_segs; j-- > i + 1;) {
        segment_name(name, l->seg_firsts[j]);
        if (store_file_unlink(s->raft_fd, name) != 0)
            goto fail;
    }
    segment_name(name, l->seg_firsts[i]);
    if (keep_bytes == 0) {
        if (store_file_unlink(s->raft_fd, name) != 0)
            goto fail;
    } else {
        int fd = openat(s->raft_fd, name, O_WRONLY | O_CLOEXEC);
        int rc = fd < 0 ? -1 : ftruncate(fd, (off_t)keep_bytes);
        if (rc == 0)
            rc = fsync(fd);
        if (fd >= 0)
            close(fd);
        if (rc != 0)
            goto fail;
    }
    if (store_file_fsync_dir(s->raft_fd) != 0)
        goto fail;
    LOG_WARN(LOG_COMP, "%s/%s/%s: log cut at offset %" PRIu64 " before index %" PRIu64
             ": %s; %s, %zu later segment(s) removed", s->dir, RAFT_SUBDIR, name, keep_bytes,
             index, reason, keep_bytes == 0 ? "file removed" : "truncated",
             l->n_segs - i - 1);
    return 0;
fail:
    snprintf(err, err_len, "%s/%s/%s: cannot cut the log there (%s): %s", s->dir,
             RAFT_SUBDIR, name, reason, strerror(errno));
    return -1;
}

static int push_segment(raft_store_t *s, segment_t seg)
{
    if (!grow((void **)&s->segs, &s->cap_segs, s->n_segs + 1, sizeof seg))
        return -1;
    s->segs[s->n_segs++] = seg;
    return 0;
}

/* Reads every segment in order, validating each entry, until the first
 * invalid one, which ends the log. */
static int load_segments(raft_store_t *s, const listing_t *l, char *err, size_t err_len)
{
    if (l->n_segs == 0)
        return 0;
    if (l->seg_firsts[0] > s->snapshot_index + 1) {
        snprintf(err, err_len, "%s/%s: log starts at index %" PRIu64 " but the snapshot "
                 "ends at %" PRIu64 ": entries in between are missing", s->dir, RAFT_SUBDIR,
                 l->seg_firsts[0], s->snapshot_index);
        return -1;
    }
    store_scan_t sc = { .next_index = l->seg_firsts[0] };
    for (size_t i = 0; i < l->n_segs; i++) {
        if (l->seg_firsts[i] != sc.next_index) {
            snprintf(sc.reason_buf, sizeof sc.reason_buf, "starts at index %" PRIu64
                     " where %" PRIu64 " was expected", l->seg_firsts[i], sc.next_index);
            return end_log_at(s, l, i, 0, sc.next_index, sc.reason_buf, err, err_len);
        }
        char name[FILE_NAME_BYTES];
        segment_name(name, l->seg_firsts[i]);
        if (scan_segment(s, name, &sc, err, err_len) != 0)
            return -1;
        if (sc.valid_bytes > 0 &&
            push_segment(s, (segment_t){ l->seg_firsts[i], sc.next_index - 1, sc.last_term,
                                         sc.valid_bytes }) != 0) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
        if (sc.reason != NULL)
            return end_log_at(s, l, i, sc.valid_bytes, sc.next_index, sc.reason, err,
                              err_len);
    }
    return 0;
}

static int load_log(raft_store_t *s, char *err, size_t err_len)
{
    listing_t l;
    memset(&l, 0, sizeof l);
    s->loaded.held = true;
    int rc = list_raft_dir(s, &l, err, err_len);
    if (rc == 0)
        rc = load_snapshot(s, &l, err, err_len);
    if (rc == 0)
        rc = load_segments(s, &l, err, err_len);
    free(l.seg_firsts);
    free(l.snaps);
    if (rc != 0)
        return -1;
    s->last_index = s->snapshot_index;
    s->last_term = s->snapshot_term;
    if (s->n_segs > 0 && s->segs[s->n_segs - 1].last_index > s->snapshot_index) {
        s->last_index = s->segs[s->n_segs - 1].last_index;
        s->last_term = s->segs[s->n_segs - 1].last_term;
    }
    CAIRN_ASSERT(s->loaded.n_entries == s->last_index - s->snapshot_index);
    /* Finish a snapshot save or install interrupted before its cleanup. */
    if (drop_covered_segments(s, s->snapshot_index) != 0 || open_active(s) != 0) {
        snprintf(err, err_len, "%s/%s: cannot prepare the log for appends", s->dir,
                 RAFT_SUBDIR);
        return -1;
    }
    return 0;
}

int raft_store_open(const char *dir, const raft_store_opts_t *opts, raft_store_t **out,
                    char *err, size_t err_len)
{
    *out = NULL;
    raft_store_t *s = calloc(1, sizeof *s);
    if (s == NULL || (s->dir = strdup(dir)) == NULL) {
        snprintf(err, err_len, "out of memory");
        free(s);
        return -1;
    }
    s->dir_fd = s->raft_fd = s->active_fd = -1;
    if (apply_opts(s, opts, err, err_len) != 0 || open_dirs(s, dir, err, err_len) != 0 ||
        load_quorum(s, err, err_len) != 0 || load_log(s, err, err_len) != 0) {
        raft_store_close(s);
        return -1;
    }
    LOG_INFO(LOG_COMP, "%s: opened: term %" PRIu64 " vote %" PRIu32 ", snapshot %" PRIu64
             "/%" PRIu64 ", log to %" PRIu64 " in %zu segment(s)", s->dir, s->term,
             s->voted_for, s->snapshot_index, s->snapshot_term, s->last_index, s->n_segs);
    *out = s;
    return 0;
}

void raft_store_close(raft_store_t *s)
{
    if (s == NULL)
        return;
    close_active(s);
    if (s->raft_fd >= 0)
        close(s->raft_fd);
    if (s->dir_fd >= 0)
        close(s->dir_fd);   /* releases the flock */
    release_loaded(s);
    free(s->segs);
    free(s->dir);
    free(s);
}

/* Only between open and the first change: the loaded copy is released then,
 * since the Raft core keeps its own. */
void raft_store_restore(const raft_store_t *s, raft_restore_t *out)
{
    CAIRN_ASSERT(s->loaded.held);
    out->term = s->term;
    out->voted_for = s->voted_for;
    out->snapshot_index = s->snapshot_index;
    out->snapshot_term = s->snapshot_term;
    out->snapshot = s->loaded.snapshot;
    out->snapshot_len = s->loaded.snapshot_len;
    out->entries = s->loaded.entries;
    out->n_entries = s->loaded.n_entries;
}

/* Raft §5.1/§5.2: the term never goes back and a voter votes at most once
 * per term; storing anything else would let it elect two leaders. */
int raft_store_save_hard_state(raft_store_t *s, uint64_t term, uint32_t voted_for)
{
    CAIRN_ASSERT(term >= s->term);
    CAIRN_ASSERT(term > s->term || s->voted_for == RAFT_NO_NODE ||
                 voted_for == s->voted_for);
    if (refuse_if_failed(s, "save_hard_state"))
        return -1;
    release_loaded(s);
    store_file_rc_t rc = store_meta_write_quorum(s->dir_fd, term, voted_for);
    if (rc == STORE_FILE_ERR_AFTER_RENAME) {
        fail_store(s, "fsync of the directory after renaming", STORE_META_QUORUM_FILE);
        return -1;
    }
    if (rc != STORE_FILE_OK) {
        LOG_ERROR(LOG_COMP, "%s: writing %s (term %" PRIu64 " vote %" PRIu32 ") failed: %s",
                  s->dir, STORE_META_QUORUM_FILE, term, voted_for, strerror(errno));
        return -1;
    }
    s->term = term;
    s->voted_for = voted_for;
    return 0;
}

/* ---- append ---- */

/* Frames gathered for one writev into the active segment. */
typedef struct frame_batch {
    uint8_t hdr[APPEND_BATCH_ENTRIES][STORE_FRAME_HEADER_BYTES];
    struct iovec iov[2 * APPEND_BATCH_ENTRIES];
    size_t n;
    uint64_t bytes;
    uint64_t last_index;
    uint64_t last_term;
} frame_batch_t;

static int check_append(const raft_store_t *s, const raft_entry_t *entries, size_t n)
{
    /* Raft §7: entries at or below the snapshot are committed and applied;
     * replacing them would mean the core lost track of its own snapshot. */
    CAIRN_ASSERT(entries[0].index > s->snapshot_index);
    if (entries[0].index > s->last_index + 1) {
        LOG_ERROR(LOG_COMP, "%s: append at index %" PRIu64 " leaves a gap after %" PRIu64,
                  s->dir, entries[0].index, s->last_index);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const raft_entry_t *e = &entries[i];
        const char *why = NULL;
        if (e->len > s->entry_max_bytes)
            why = "over entry_max_bytes";
        else if (e->len > 0 && e->data == NULL)
            why = "has no data";
        else if (i > 0 && e->index != entries[i - 1].index + 1)
            why = "does not follow the previous index";
        else if (i > 0 && e->term < entries[i - 1].term)
            why = "has a lower term than the previous entry";
        if (why != NULL) {
            LOG_ERROR(LOG_COMP, "%s: append refused: entry %" PRIu64 " term %" PRIu64
                      " len %" PRIu32 " %s", s->dir, e->index, e->term, e->len, why);
            return -1;
        }
    }
    return 0;
}

/* Cuts segment i just before index: finds the offset by scanning it. */
static int cut_segment(raft_store_t *s, size_t i, uint64_t index)
{
    segment_t *seg = &s->segs[i];
    char name[FILE_NAME_BYTES];
    segment_name(name, seg->first_index);
    int fd = openat(s->raft_fd, name, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fail_store(s, "open of", name);
        return -1;
    }
    void *map = mmap(NULL, (size_t)seg->size_bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    store_scan_t sc = { .next_index = seg->first_index,
                        .last_term = i > 0 ? s->segs[i - 1].last_term : 0 };
    if (map != MAP_FAILED) {
        store_frame_scan(map, seg->size_bytes, s->entry_max_bytes, index, &sc, NULL, NULL);
        munmap(map, (size_t)seg->size_bytes);
    }
    int rc = -1;
    if (map == MAP_FAILED)
        fail_store(s, "mmap of", name);
    else if (sc.next_index != index)
        LOG_ERROR(LOG_COMP, "%s: %s changed under the store (%s); refusing further writes",
                  s->dir, name, sc.reason != NULL ? sc.reason : "entry missing");
    else if (ftruncate(fd, (off_t)sc.valid_bytes) != 0 || fsync(fd) != 0)
        fail_store(s, "truncate of", name);
    else
        rc = 0;
    close(fd);
    s->failed = s->failed || rc != 0;
    if (rc == 0)
        *seg = (segment_t){ seg->first_index, index - 1, sc.last_term, sc.valid_bytes };
    return rc;
}

/* Raft §5.3: a conflicting suffix is deleted before the leader's entries
 * go in. Durable before returning, so a crash never leaves old entries
 * after new ones. */
static int truncate_from(raft_store_t *s, uint64_t index)
{
    CAIRN_ASSERT(index > s->snapshot_index && index <= s->last_index);
    size_t i = s->n_segs;
    while (i > 0 && s->segs[i - 1].first_index > index)
        i--;
    CAIRN_ASSERT(i > 0);   /* the first segment starts at or below snapshot + 1 */
    i--;
    size_t removed = s->n_segs - i - 1 + (s->segs[i].first_index == index);
    if (remove_segments_from(s, s->segs[i].first_index == index ? i : i + 1) != 0)
        return -1;
    if (removed > 0 && store_file_fsync_dir(s->raft_fd) != 0) {
        fail_store(s, "fsync of", RAFT_SUBDIR);
        return -1;
    }
    if (s->n_segs == i + 1 && cut_segment(s, i, index) != 0)
        return -1;
    s->last_index = index - 1;
    s->last_term = s->n_segs > 0 ? s->segs[s->n_segs - 1].last_term : s->snapshot_term;
    CAIRN_ASSERT(s->n_segs > 0 || s->last_index == s->snapshot_index);
    LOG_INFO(LOG_COMP, "%s: log truncated from index %" PRIu64 " (%zu segment(s) removed)",
             s->dir, index, removed);
    close_active(s);
    if (open_active(s) != 0) {
        s->failed = true;
        return -1;
    }
    return 0;
}

/* Starts a new segment at first_index; the previous one is fdatasync'd
 * first so raft_store_sync only has the active file to flush. */
static int roll(raft_store_t *s, uint64_t first_index)
{
    if (s->n_segs >= MAX_SEGMENTS) {
        LOG_ERROR(LOG_COMP, "%s: %d segments: take a snapshot to compact the log", s->dir,
                  MAX_SEGMENTS);
        return -1;
    }
    char name[FILE_NAME_BYTES];
    if (s->active_fd >= 0) {
        segment_name(name, s->segs[s->n_segs - 1].first_index);
        if (s->dirty && fdatasync(s->active_fd) != 0) {
            fail_store(s, "fdatasync of", name);
            return -1;
        }
        close_active(s);
    }
    segment_name(name, first_index);
    int fd = openat(s->raft_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC,
                    0644);
    if (fd < 0 || push_segment(s, (segment_t){ first_index, first_index - 1, s->last_term,
                                               0 }) != 0) {
        LOG_ERROR(LOG_COMP, "%s: creating %s/%s failed: %s", s->dir, RAFT_SUBDIR, name,
                  fd < 0 ? strerror(errno) : "out of memory");
        if (fd >= 0) {
            close(fd);
            unlinkat(s->raft_fd, name, 0);
        }
        return -1;
    }
    s->active_fd = fd;
    s->dirty = false;
    s->dir_dirty = true;
    return 0;
}

/* Writes the batch; on failure cuts the segment back to its last whole
 * frame so later appends never follow a partial one. */
static int flush_batch(raft_store_t *s, frame_batch_t *b)
{
    if (b->n == 0)
        return 0;
    segment_t *seg = &s->segs[s->n_segs - 1];
    char name[FILE_NAME_BYTES];
    segment_name(name, seg->first_index);
    if (store_file_writev_all(s->active_fd, b->iov, (int)(2 * b->n)) != 0) {
        LOG_ERROR(LOG_COMP, "%s: write to %s/%s failed: %s", s->dir, RAFT_SUBDIR, name,
                  strerror(errno));
        if (ftruncate(s->active_fd, (off_t)seg->size_bytes) != 0)
            fail_store(s, "truncate after a failed write of", name);
        b->n = 0;
        return -1;
    }
    seg->size_bytes += b->bytes;
    seg->last_index = b->last_index;
    seg->last_term = b->last_term;
    s->last_index = b->last_index;
    s->last_term = b->last_term;
    s->dirty = true;
    b->n = 0;
    b->bytes = 0;
    return 0;
}

/* Kafka's rule: roll when this frame would take a non-empty segment past
 * segment_bytes, so only a single oversized entry exceeds it. */
static bool needs_roll(const raft_store_t *s, const frame_batch_t *b, uint64_t frame_bytes)
{
    if (s->active_fd < 0)
        return true;
    uint64_t size = s->segs[s->n_segs - 1].size_bytes + b->bytes;
    return size > 0 && size + frame_bytes > s->segment_bytes;
}

static int write_entries(raft_store_t *s, const raft_entry_t *entries, size_t n)
{
    frame_batch_t b;
    b.n = 0;
    b.bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const raft_entry_t *e = &entries[i];
        uint64_t frame_bytes = STORE_FRAME_HEADER_BYTES + (uint64_t)e->len;
        if (needs_roll(s, &b, frame_bytes) &&
            (flush_batch(s, &b) != 0 || roll(s, e->index) != 0))
            return -1;
        store_frame_encode(b.hdr[b.n], e);
        b.iov[2 * b.n] = (struct iovec){ b.hdr[b.n], STORE_FRAME_HEADER_BYTES };
        b.iov[2 * b.n + 1] = (struct iovec){ e->data, e->len };
        b.n++;
        b.bytes += frame_bytes;
        b.last_index = e->index;
        b.last_term = e->term;
        if (b.n == APPEND_BATCH_ENTRIES && flush_batch(s, &b) != 0)
            return -1;
    }
    return flush_batch(s, &b);
}

int raft_store_append(raft_store_t *s, const raft_entry_t *entries, size_t n)
{
    if (n == 0)
        return 0;
    if (refuse_if_failed(s, "append") || check_append(s, entries, n) != 0)
        return -1;
    release_loaded(s);
    if (entries[0].index <= s->last_index && truncate_from(s, entries[0].index) != 0)
        return -1;
    if (entries[0].term < s->last_term) {
        LOG_ERROR(LOG_COMP, "%s: append refused: entry %" PRIu64 " term %" PRIu64
                  " below the previous entry's %" PRIu64, s->dir, entries[0].index,
                  entries[0].term, s->last_term);
        return -1;
    }
    return write_entries(s, entries, n);
}

int raft_store_sync(raft_store_t *s)
{
    if (refuse_if_failed(s, "sync"))
        return -1;
    if (s->dirty && s->active_fd >= 0 && fdatasync(s->active_fd) != 0) {
        char name[FILE_NAME_BYTES];
        segment_name(name, s->segs[s->n_segs - 1].first_index);
        fail_store(s, "fdatasync of", name);
        return -1;
    }
    s->dirty = false;
    if (s->dir_dirty && store_file_fsync_dir(s->raft_fd) != 0) {
        fail_store(s, "fsync of", RAFT_SUBDIR);
        return -1;
    }
    s->dir_dirty = false;
    return 0;
}

/* ---- snapshots ---- */

static int write_snapshot(raft_store_t *s, uint64_t index, uint64_t term,
                          const uint8_t *data, size_t len)
{
    if (index == 0 || index < s->snapshot_index || len > SNAPSHOT_MAX_BYTES ||
        (len > 0 && data == NULL)) {
        LOG_ERROR(LOG_COMP, "%s: snapshot at index %" PRIu64 " (%zu bytes) refused: the "
                  "current one is at %" PRIu64 ", the bound %zu bytes", s->dir, index, len,
                  s->snapshot_index, SNAPSHOT_MAX_BYTES);
        return -1;
    }
    release_loaded(s);
    char name[FILE_NAME_BYTES];
    snapshot_name(name, index, term);
    store_file_rc_t rc = store_meta_write_snapshot(s->raft_fd, name, index, term, data, len);
    if (rc == STORE_FILE_ERR_AFTER_RENAME) {
        fail_store(s, "fsync of the directory after renaming", name);
        return -1;
    }
    if (rc != STORE_FILE_OK) {
        LOG_ERROR(LOG_COMP, "%s: writing %s/%s failed: %s", s->dir, RAFT_SUBDIR, name,
                  strerror(errno));
        return -1;
    }
    s->snapshot_index = index;
    s->snapshot_term = term;
    return 0;
}

/* The new snapshot supersedes every other one. A leftover is harmless
 * (open prefers the newest valid), so failures are only logged. */
static void remove_other_snapshots(raft_store_t *s)
{
    char keep[FILE_NAME_BYTES];
    snapshot_name(keep, s->snapshot_index, s->snapshot_term);
    int fd = openat(s->raft_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        LOG_WARN(LOG_COMP, "%s/%s: cannot list to remove old snapshots: %s", s->dir,
                 RAFT_SUBDIR, strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t index, term;
        if (!parse_snapshot_name(de->d_name, &index, &term) || strcmp(de->d_name, keep) == 0)
            continue;
        if (store_file_unlink(s->raft_fd, de->d_name) != 0)
            LOG_WARN(LOG_COMP, "%s/%s/%s: cannot remove old snapshot: %s", s->dir,
                     RAFT_SUBDIR, de->d_name, strerror(errno));
    }
    closedir(d);
}

int raft_store_save_snapshot(raft_store_t *s, uint64_t index, uint64_t term,
                             const uint8_t *data, size_t len)
{
    if (refuse_if_failed(s, "save_snapshot"))
        return -1;
    /* It covers entries this log holds: its last one, if included, must agree. */
    if (index > s->last_index || (index == s->last_index && term != s->last_term)) {
        LOG_ERROR(LOG_COMP, "%s: snapshot at index %" PRIu64 " term %" PRIu64 " refused: "
                  "the log ends at %" PRIu64 " term %" PRIu64, s->dir, index, term,
                  s->last_index, s->last_term);
        return -1;
    }
    if (write_snapshot(s, index, term, data, len) != 0)
        return -1;
    size_t n_before = s->n_segs;
    if (drop_covered_segments(s, index) != 0)
        return -1;
    remove_other_snapshots(s);
    LOG_INFO(LOG_COMP, "%s: snapshot saved at index %" PRIu64 " term %" PRIu64 " (%zu bytes),"
             " %zu segment(s) removed", s->dir, index, term, len, n_before - s->n_segs);
    return 0;
}

int raft_store_install_snapshot(raft_store_t *s, uint64_t index, uint64_t term,
                                const uint8_t *data, size_t len)
{
    if (refuse_if_failed(s, "install_snapshot"))
        return -1;
    if (write_snapshot(s, index, term, data, len) != 0)
        return -1;
    /* The snapshot is durable before the log goes. After a crash in between,
     * open keeps old entries only if they continue the snapshot (the same
     * term at its index, Raft §7) and drops the rest. */
    size_t n_before = s->n_segs;
    if (drop_covered_segments(s, UINT64_MAX) != 0)
        return -1;
    s->last_index = index;
    s->last_term = term;
    s->dirty = false;
    remove_other_snapshots(s);
    LOG_INFO(LOG_COMP, "%s: snapshot installed at index %" PRIu64 " term %" PRIu64
             " (%zu bytes), log discarded (%zu segment(s))", s->dir, index, term, len,
             n_before);
    return 0;
}

uint64_t raft_store_last_index(const raft_store_t *s)
{
    return s->last_index;
}

uint64_t raft_store_snapshot_index(const raft_store_t *s)
{
    return s->snapshot_index;
}
