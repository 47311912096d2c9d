/* The group coordinator's admin APIs: DescribeGroups (state, protocol and
 * members of groups, with metadata and assignments once Stable, as Kafka's
 * GroupMetadata.summary) and ListGroups (every group this broker coordinates,
 * COORDINATOR_LOAD_IN_PROGRESS while a partition it leads is still loading). */
#include "broker/group_internal.h"

#include <string.h>

static void describe_one(weir_broker *b, weir_str gid, weir_describe_groups_group *out)
{
    memset(out, 0, sizeof *out);
    out->group_id = gid;
    out->group_state = weir_str_from("");
    out->protocol_type = weir_str_from("");
    out->protocol_data = weir_str_from("");
    out->authorized_operations = WEIR_AUTHORIZED_OPERATIONS_UNKNOWN;
    int32_t index = -1;
    weir_str key = gid.len > 0 ? gid : weir_str_from("");
    out->error_code = bk_coord_lookup(b, BK_COORD_GROUP, key.p, (size_t)key.len, &index);
    if (out->error_code != WEIR_KERR_NONE) {
        return;
    }
    grp_group *g = grp_find(grp_part_get(b, index), key.p, (size_t)key.len);
    if (g == NULL) {
        out->group_state = weir_str_from("Dead");
        return;
    }
    out->group_state = weir_str_from(grp_state_name(g->state));
    out->protocol_type = weir_str_from(g->protocol_type != NULL ? g->protocol_type : "");
    bool stable = g->state == GRP_STABLE;
    if (stable && g->protocol_name != NULL) {
        out->protocol_data = weir_str_from(g->protocol_name);
    }
    weir_describe_groups_member *ms =
        weir_arena_alloc_array(&b->arena, (size_t)g->n_members, sizeof *ms);
    if (ms == NULL) {
        return;
    }
    for (int i = 0; i < g->n_members; i++) {
        const grp_member *m = g->members[i];
        const uint8_t *sub = NULL;
        int32_t sub_len = 0;
        if (stable) {
            grp_member_subscription(g, m, &sub, &sub_len);
        }
        ms[i].member_id = weir_str_from(m->member_id);
        ms[i].group_instance_id = weir_str_from(m->group_instance_id);
        ms[i].client_id = weir_str_from(m->client_id);
        ms[i].client_host = weir_str_from(m->client_host);
        ms[i].member_metadata = (weir_bytes){sub != NULL ? sub : (const uint8_t *)"", sub_len};
        ms[i].member_assignment =
            (weir_bytes){stable && m->assignment != NULL ? m->assignment : (const uint8_t *)"",
                         stable ? m->assignment_len : 0};
    }
    out->member_count = g->n_members;
    out->members = ms;
}

int bk_handle_describe_groups(bk_conn *c, const weir_request *r)
{
    weir_broker *b = c->b;
    const weir_describe_groups_request *req = &r->body.describe_groups;
    int32_t n = req->group_count > 0 ? req->group_count : 0;
    weir_describe_groups_group *out = weir_arena_alloc_array(&b->arena, (size_t)n, sizeof *out);
    if (out == NULL && n > 0) {
        return WEIR_E_NOMEM;
    }
    for (int32_t i = 0; i < n; i++) {
        describe_one(b, req->groups[i], &out[i]);
    }
    weir_describe_groups_response resp = {0, n, out};
    return weir_encode_describe_groups_response(&b->out, r->header.api_version, &resp);
}

int bk_handle_list_groups(bk_conn *c, const weir_request *r)
{
    weir_broker *b = c->b;
    size_t n = 0;
    for (int32_t i = 0; b->groups != NULL && i < b->groups->n_parts; i++) {
        n += b->groups->parts[i] != NULL ? b->groups->parts[i]->n_groups : 0;
    }
    weir_list_groups_group *out = weir_arena_alloc_array(&b->arena, n, sizeof *out);
    if (out == NULL && n > 0) {
        return WEIR_E_NOMEM;
    }
    int32_t k = 0;
    for (int32_t i = 0; b->groups != NULL && i < b->groups->n_parts; i++) {
        grp_part *part = b->groups->parts[i];
        if (part == NULL || bk_coord_status(b, BK_COORD_GROUP, i) != WEIR_KERR_NONE) {
            continue;
        }
        for (size_t j = 0; j < part->n_groups; j++) {
            const grp_group *g = part->groups[j];
            out[k].group_id = weir_str_from(g->group_id);
            out[k].protocol_type = weir_str_from(g->protocol_type != NULL ? g->protocol_type : "");
            k++;
        }
    }
    int16_t error = bk_coord_loading(b, BK_COORD_GROUP) ? WEIR_KERR_COORDINATOR_LOAD_IN_PROGRESS
                                                        : WEIR_KERR_NONE;
    weir_list_groups_response resp = {0, error, k, out};
    return weir_encode_list_groups_response(&b->out, r->header.api_version, &resp);
}

