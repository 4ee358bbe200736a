/* A log directory as a whole (logdir.h): the clean-shutdown marker and the
 * listing of partition directories. */
#include "logdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pmeta.h"
#include "store_file.h"

int logdir_clean_marker_take(const char *log_dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", log_dir, LOGDIR_CLEAN_MARKER);
    if (unlink(path) != 0)
        return errno == ENOENT ? 0 : -1;
    return store_file_fsync_dir_path(log_dir) == 0 ? 1 : -1;
}

int logdir_clean_marker_write(const char *log_dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", log_dir, LOGDIR_CLEAN_MARKER);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    if (close(fd) != 0)
        rc = -1;
    return rc == 0 ? store_file_fsync_dir_path(log_dir) : -1;
}

int logdir_parse_name(const char *name, char topic[LOGDIR_TOPIC_MAX + 1],
                      uint32_t *partition)
{
    const char *dash = strrchr(name, '-');
    if (!dash || dash == name || dash[1] == '\0')
        return -1;
    size_t tlen = (size_t)(dash - name);
    if (tlen > LOGDIR_TOPIC_MAX)
        return -1;
    uint64_t p = 0;
    for (const char *c = dash + 1; *c; c++) {
        if (*c < '0' || *c > '9' || p > UINT32_MAX / 10)
            return -1;
        p = p * 10 + (uint64_t)(*c - '0');
    }
    if (p > INT32_MAX || (dash[1] == '0' && dash[2] != '\0'))
        return -1;
    for (size_t i = 0; i < tlen; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return -1;
    }
    memcpy(topic, name, tlen);
    topic[tlen] = '\0';
    *partition = (uint32_t)p;
    return 0;
}

/* Fills e for the directory name in log_dir; 0 when it is a partition. */
static int read_entry(const char *log_dir, const char *name, char *path, size_t path_len,
                      char *topic, logdir_entry_t *e)
{
    if (logdir_parse_name(name, topic, &e->partition) != 0)
        return -1;
    snprintf(path, path_len, "%s/%s", log_dir, name);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return -1;
    e->path = path;
    e->topic = topic;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    e->has_topic_id = fd >= 0 && pmeta_read_topic_id(fd, e->topic_id) == 0;
    if (fd >= 0)
        close(fd);
    return 0;
}

int logdir_scan(const char *log_dir, logdir_scan_fn fn, void *arg)
{
    DIR *d = opendir(log_dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char path[PATH_MAX], topic[LOGDIR_TOPIC_MAX + 1];
        logdir_entry_t e;
        if (de->d_name[0] == '.' ||
            read_entry(log_dir, de->d_name, path, sizeof path, topic, &e) != 0)
            continue;
        n++;
        if (fn(arg, &e) != 0)
            break;
    }
    closedir(d);
    return n;
}
