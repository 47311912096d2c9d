#include "log/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/crc32c.h"
#include "log/checkpoint.h"

int weir_snapshot_encode(const weir_producer_entry *entries, size_t n, uint8_t **out,
                         size_t *len_out)
{
    if (n > INT32_MAX) {
        return WEIR_E_INVAL;
    }
    size_t len = WEIR_SNAPSHOT_HEADER_BYTES + n * WEIR_SNAPSHOT_ENTRY_BYTES;
    uint8_t *b = malloc(len);
    if (b == NULL) {
        return WEIR_E_NOMEM;
    }
    weir_put_be16(b, WEIR_SNAPSHOT_VERSION);
    weir_put_be32(b + 6, (uint32_t)n);
    uint8_t *p = b + WEIR_SNAPSHOT_HEADER_BYTES;
    for (size_t i = 0; i < n; i++, p += WEIR_SNAPSHOT_ENTRY_BYTES) {
        const weir_producer_entry *e = &entries[i];
        weir_put_be64(p + 0, (uint64_t)e->producer_id);
        weir_put_be16(p + 8, (uint16_t)e->epoch);
        weir_put_be32(p + 10, (uint32_t)e->last_sequence);
        weir_put_be64(p + 14, (uint64_t)e->last_offset);
        weir_put_be32(p + 22, (uint32_t)e->offset_delta);
        weir_put_be64(p + 26, (uint64_t)e->timestamp);
        weir_put_be32(p + 34, (uint32_t)e->coordinator_epoch);
        weir_put_be64(p + 38, (uint64_t)e->current_txn_first_offset);
    }
    weir_put_be32(b + 2, weir_crc32c(0, b + 6, len - 6));
    *out = b;
    *len_out = len;
    return 0;
}

int weir_snapshot_decode(const uint8_t *b, size_t len, weir_producer_entry **entries_out,
                         size_t *n_out, const char **why)
{
    static const char *unused;
    const char **reason = why != NULL ? why : &unused;
    *entries_out = NULL;
    *n_out = 0;
    if (len < WEIR_SNAPSHOT_HEADER_BYTES) {
        *reason = "shorter than the 10-byte header";
        return WEIR_E_CORRUPT;
    }
    if (weir_get_be16(b) != WEIR_SNAPSHOT_VERSION) {
        *reason = "version is not 1";
        return WEIR_E_CORRUPT;
    }
    if (weir_crc32c(0, b + 6, len - 6) != weir_get_be32(b + 2)) {
        *reason = "CRC-32C mismatch";
        return WEIR_E_CORRUPT;
    }
    uint32_t n = weir_get_be32(b + 6);
    if ((uint64_t)n * WEIR_SNAPSHOT_ENTRY_BYTES != len - WEIR_SNAPSHOT_HEADER_BYTES) {
        *reason = "entry count does not match the file size";
        return WEIR_E_CORRUPT;
    }
    weir_producer_entry *e = n ? calloc(n, sizeof *e) : NULL;
    if (n > 0 && e == NULL) {
        return WEIR_E_NOMEM;
    }
    const uint8_t *p = b + WEIR_SNAPSHOT_HEADER_BYTES;
    for (uint32_t i = 0; i < n; i++, p += WEIR_SNAPSHOT_ENTRY_BYTES) {
        e[i].producer_id = (int64_t)weir_get_be64(p + 0);
        e[i].epoch = (int16_t)weir_get_be16(p + 8);
        e[i].last_sequence = (int32_t)weir_get_be32(p + 10);
        e[i].last_offset = (int64_t)weir_get_be64(p + 14);
        e[i].offset_delta = (int32_t)weir_get_be32(p + 22);
        e[i].timestamp = (int64_t)weir_get_be64(p + 26);
        e[i].coordinator_epoch = (int32_t)weir_get_be32(p + 34);
        e[i].current_txn_first_offset = (int64_t)weir_get_be64(p + 38);
    }
    *entries_out = e;
    *n_out = n;
    return 0;
}

static void snapshot_name(char *out, size_t size, int64_t offset)
{
    snprintf(out, size, "%020lld.snapshot", (long long)offset);
}

int weir_snapshot_write(weir_env *env, const char *dir, int64_t offset,
                        const weir_producer_entry *entries, size_t n)
{
    uint8_t *buf;
    size_t len;
    int err = weir_snapshot_encode(entries, n, &buf, &len);
    if (err != 0) {
        return err;
    }
    char name[48];
    snapshot_name(name, sizeof name, offset);
    err = weir_checkpoint_replace(env, dir, name, buf, len);
    free(buf);
    return err;
}

int weir_snapshot_read(weir_env *env, const char *dir, int64_t offset,
                       weir_producer_entry **entries_out, size_t *n_out, const char **why)
{
    char name[48], path[1100];
    snapshot_name(name, sizeof name, offset);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *buf;
    size_t len;
    int err = weir_checkpoint_slurp(env, path, (size_t)1 << 30, &buf, &len);
    if (err != 0) {
        return err;
    }
    err = weir_snapshot_decode((const uint8_t *)buf, len, entries_out, n_out, why);
    free(buf);
    return err;
}
