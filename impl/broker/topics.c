#include "broker/topics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

bool weir_topic_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > WEIR_TOPIC_NAME_MAX || (len == 1 && name[0] == '.') ||
        (len == 2 && name[0] == '.' && name[1] == '.')) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

void weir_topics_init(weir_topics *ts, weir_env *env, int32_t self_id, const weir_log_config *cfg)
{
    memset(ts, 0, sizeof *ts);
    ts->env = env;
    ts->self_id = self_id;
    ts->log_cfg = *cfg;
}

static int cmp_name(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0) {
        return c;
    }
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

/* Index of the first topic whose name is >= name. */
static size_t lower_bound(const weir_topics *ts, const char *name, size_t len)
{
    size_t lo = 0, hi = ts->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_name(name, len, ts->t[mid]->name) > 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

weir_topic *weir_topics_find(const weir_topics *ts, const char *name, size_t len)
{
    size_t i = lower_bound(ts, name, len);
    return i < ts->n && cmp_name(name, len, ts->t[i]->name) == 0 ? ts->t[i] : NULL;
}

weir_partition *weir_topic_partition(const weir_topic *t, int32_t index)
{
    return t != NULL && index >= 0 && index < t->partition_count ? &t->partitions[index] : NULL;
}

static void report_recovery(weir_topics *ts, const char *dir, const weir_log_recovery *rep)
{
    if (!rep->clean) {
        weir_log_info(ts->env, "%s: recovered after an unclean shutdown: %d segment(s) checked, "
                      "%lld batches, %llu bytes%s", dir, rep->segments_scanned,
                      (long long)rep->batches_scanned, (unsigned long long)rep->bytes_scanned,
                      rep->cut ? ", tail cut (see above)" : "");
    }
}

static int partition_open(weir_topics *ts, const char *topic, int32_t index, weir_partition *p)
{
    char dir[WEIR_TOPIC_NAME_MAX + 16];
    snprintf(dir, sizeof dir, "%s-%d", topic, index);
    memset(p, 0, sizeof *p);
    p->index = index;
    p->role = WEIR_ROLE_LEADER; /* standalone; cluster mode resets it */
    weir_log_recovery rep;
    int err = weir_plog_open(ts->env, dir, &ts->log_cfg, &rep, &p->log);
    if (err != 0) {
        weir_log_error(ts->env, "%s: cannot open the partition log: %s", dir, weir_err_str(err));
        return err;
    }
    report_recovery(ts, dir, &rep);
    p->leader_id = ts->self_id;
    p->leader_epoch = weir_epoch_cache_latest(weir_plog_epochs(p->log));
    if (p->leader_epoch < 0) {
        p->leader_epoch = 0;
    }
    p->replicas[0] = ts->self_id;
    p->n_replicas = 1;
    p->isr[0] = ts->self_id;
    p->n_isr = 1;
    /* One replica: everything in the log is committed. */
    p->high_watermark = weir_plog_end_offset(p->log);
    weir_leader_init(&p->lead, ts->self_id, p->leader_epoch, p->replicas, 1, p->isr, 1,
                     p->high_watermark, p->high_watermark, weir_now_ns(ts->env));
    int64_t hw;
    p->hw_checkpointed = weir_plog_hw_read(p->log, &hw) == 0 ? hw : -1;
    return 0;
}

static void topic_free(weir_topic *t, bool clean, weir_env *env)
{
    for (int32_t i = 0; i < t->partition_count; i++) {
        weir_partition *p = &t->partitions[i];
        if (p->log == NULL) {
            continue;
        }
        if (clean) {
            int err = weir_plog_hw_write(p->log, p->high_watermark);
            if (err == 0) {
                err = weir_plog_close(p->log);
            } else {
                weir_plog_abandon(p->log);
            }
            if (err != 0) {
                weir_log_error(env, "%s-%d: clean close failed: %s", t->name, i, weir_err_str(err));
            }
        } else {
            weir_plog_abandon(p->log);
        }
        p->log = NULL;
    }
    free(t->partitions);
    free(t);
}

static int topics_insert(weir_topics *ts, weir_topic *t)
{
    if (ts->n == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 16;
        weir_topic **nt = realloc(ts->t, cap * sizeof *nt);
        if (nt == NULL) {
            return WEIR_E_NOMEM;
        }
        ts->t = nt;
        ts->cap = cap;
    }
    size_t i = lower_bound(ts, t->name, strlen(t->name));
    memmove(ts->t + i + 1, ts->t + i, (ts->n - i) * sizeof *ts->t);
    ts->t[i] = t;
    ts->n++;
    return 0;
}

static int topic_open(weir_topics *ts, const char *name, size_t len, int32_t partitions,
                      bool open_logs, weir_topic **out)
{
    weir_topic *t = calloc(1, sizeof *t);
    weir_partition *parts = calloc((size_t)partitions, sizeof *parts);
    if (t == NULL || parts == NULL) {
        free(t);
        free(parts);
        return WEIR_E_NOMEM;
    }
    memcpy(t->name, name, len);
    t->name[len] = '\0';
    t->partitions = parts;
    t->partition_count = partitions;
    for (int32_t i = 0; i < partitions; i++) {
        parts[i].index = i;
        parts[i].leader_id = -1;
        int err = open_logs ? partition_open(ts, t->name, i, &parts[i]) : 0;
        if (err != 0) {
            topic_free(t, false, ts->env);
            return err;
        }
    }
    int err = topics_insert(ts, t);
    if (err != 0) {
        topic_free(t, true, ts->env);
        return err;
    }
    *out = t;
    return 0;
}

int weir_topics_load(weir_topics *ts)
{
    weir_dirlist list = {0};
    int err = weir_fs_list(ts->env, "", &list);
    if (err != 0) {
        weir_log_error(ts->env, "cannot list the log dir: %s", weir_err_str(err));
        return err;
    }
    /* Names sort so that one topic's folders are adjacent only by prefix;
     * collect the highest partition index per topic first. */
    for (size_t i = 0; i < list.count && err == 0; i++) {
        char topic[WEIR_TOPIC_NAME_MAX + 1];
        int32_t part;
        bool is_dir = false;
        uint64_t size;
        if (weir_fs_stat(ts->env, list.names[i], &is_dir, &size) != 0 || !is_dir) {
            continue;
        }
        if (weir_log_parse_dir_name(list.names[i], topic, sizeof topic, &part) != 0 ||
            !weir_topic_name_valid(topic, strlen(topic))) {
            weir_log_warn(ts->env, "log dir: skipping folder '%s' (not <topic>-<partition>)",
                          list.names[i]);
            continue;
        }
        if (weir_topics_find(ts, topic, strlen(topic)) != NULL) {
            continue;
        }
        int32_t count = 0;
        for (size_t j = 0; j < list.count; j++) {
            char t2[WEIR_TOPIC_NAME_MAX + 1];
            int32_t p2;
            if (weir_log_parse_dir_name(list.names[j], t2, sizeof t2, &p2) == 0 &&
                strcmp(t2, topic) == 0 && p2 + 1 > count) {
                count = p2 + 1;
            }
        }
        weir_topic *t;
        err = topic_open(ts, topic, strlen(topic), count, true, &t);
        if (err == 0) {
            weir_log_info(ts->env, "loaded topic %s: %d partition(s)", topic, count);
        }
    }
    weir_fs_list_free(&list);
    return err;
}

int weir_topics_create(weir_topics *ts, const char *name, size_t len, int32_t partitions,
                       weir_topic **out)
{
    if (!weir_topic_name_valid(name, len) || partitions < 1) {
        return WEIR_E_INVAL;
    }
    if (weir_topics_find(ts, name, len) != NULL) {
        return WEIR_E_EXIST;
    }
    weir_topic *t = NULL;
    int err = topic_open(ts, name, len, partitions, true, &t);
    if (err == 0) {
        weir_log_info(ts->env, "created topic %s: %d partition(s)", t->name, partitions);
        if (out != NULL) {
            *out = t;
        }
    }
    return err;
}

static int remove_folder(weir_env *env, const char *dir)
{
    weir_dirlist list = {0};
    int err = weir_fs_list(env, dir, &list);
    for (size_t i = 0; err == 0 && i < list.count; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, list.names[i]);
        err = weir_fs_unlink(env, path);
    }
    weir_fs_list_free(&list);
    return err == 0 ? weir_fs_rmdir(env, dir) : err;
}

int weir_topics_delete(weir_topics *ts, const char *name, size_t len)
{
    size_t i = lower_bound(ts, name, len);
    if (i >= ts->n || cmp_name(name, len, ts->t[i]->name) != 0) {
        return WEIR_E_NOENT;
    }
    weir_topic *t = ts->t[i];
    memmove(ts->t + i, ts->t + i + 1, (ts->n - i - 1) * sizeof *ts->t);
    ts->n--;
    int first_err = 0;
    for (int32_t p = 0; p < t->partition_count; p++) {
        weir_plog_abandon(t->partitions[p].log);
        t->partitions[p].log = NULL;
        char dir[WEIR_TOPIC_NAME_MAX + 16];
        snprintf(dir, sizeof dir, "%s-%d", t->name, p);
        int err = remove_folder(ts->env, dir);
        if (err != 0 && first_err == 0) {
            weir_log_error(ts->env, "%s: cannot delete: %s", dir, weir_err_str(err));
            first_err = err;
        }
    }
    weir_log_info(ts->env, "deleted topic %s", t->name);
    topic_free(t, false, ts->env);
    return first_err;
}

static void topics_free(weir_topics *ts, bool clean)
{
    for (size_t i = 0; i < ts->n; i++) {
        topic_free(ts->t[i], clean, ts->env);
    }
    free(ts->t);
    ts->t = NULL;
    ts->n = ts->cap = 0;
}

void weir_topics_close(weir_topics *ts)
{
    topics_free(ts, true);
}

void weir_topics_abandon(weir_topics *ts)
{
    topics_free(ts, false);
}

int weir_topics_ensure(weir_topics *ts, const char *name, size_t len, int32_t partitions,
                       weir_topic **out)
{
    if (!weir_topic_name_valid(name, len) || partitions < 1) {
        return WEIR_E_INVAL;
    }
    weir_topic *t = weir_topics_find(ts, name, len);
    if (t == NULL) {
        return topic_open(ts, name, len, partitions, false, out);
    }
    if (t->partition_count < partitions) {
        weir_partition *grown = realloc(t->partitions, (size_t)partitions * sizeof *grown);
        if (grown == NULL) {
            return WEIR_E_NOMEM;
        }
        memset(grown + t->partition_count, 0,
               (size_t)(partitions - t->partition_count) * sizeof *grown);
        for (int32_t i = t->partition_count; i < partitions; i++) {
            grown[i].index = i;
            grown[i].leader_id = -1;
        }
        t->partitions = grown;
        t->partition_count = partitions;
    }
    *out = t;
    return 0;
}

int weir_topics_host(weir_topics *ts, weir_topic *t, int32_t index)
{
    WEIR_ASSERT(index >= 0 && index < t->partition_count);
    weir_partition *p = &t->partitions[index];
    if (p->log != NULL) {
        return 0;
    }
    weir_partition keep = *p;
    int err = partition_open(ts, t->name, index, p);
    if (err != 0) {
        *p = keep;
        return err;
    }
    /* keep what the controller said; the role is decided by the caller */
    p->leader_id = keep.leader_id;
    p->leader_epoch = keep.leader_epoch;
    p->partition_epoch = keep.partition_epoch;
    memcpy(p->replicas, keep.replicas, sizeof p->replicas);
    p->n_replicas = keep.n_replicas;
    memcpy(p->isr, keep.isr, sizeof p->isr);
    p->n_isr = keep.n_isr;
    p->role = WEIR_ROLE_NONE;
    return 0;
}
