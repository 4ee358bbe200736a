/* Unit tests for the pure half of cairnctl's group commands: their
 * arguments, Kafka's coordinator partition, the union of group lists, the
 * describe rows with their lag, and the table and JSON renderings. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_args.h"
#include "ctl_test.h"
#include "ctl_group_view.h"
#include "ctl_print.h"
#include "group_partition.h"

/* ---- Arguments ----------------------------------------------------------- */

START_TEST(test_args_group_commands)
{
    static ctl_args_t a;
    char err[256];
    ck_assert_int_eq(PARSE(&no_env, &a, "group", "list"), 0);
    ck_assert_int_eq(a.cmd, CTL_CMD_GROUP_LIST);
    ck_assert(!a.json);
    ck_assert_ptr_null(a.group);
    ck_assert_int_eq(PARSE(&no_env, &a, "group", "list", "--json"), 0);
    ck_assert(a.json);
    ck_assert_int_eq(PARSE(&no_env, &a, "--json", "group", "describe", "orders-app"), 0);
    ck_assert_int_eq(a.cmd, CTL_CMD_GROUP_DESCRIBE);
    ck_assert(a.json);
    ck_assert_str_eq(a.group, "orders-app");
    ck_assert_ptr_null(a.topic);
    ck_assert_int_eq(PARSE(&no_env, &a, "group", "describe", "--", "-dash"), 0);
    ck_assert_str_eq(a.group, "-dash");
}
END_TEST

START_TEST(test_args_group_errors)
{
    static const struct { const char *args[6]; const char *why; } cases[] = {
        { { "group" }, "'group' needs a subcommand" },
        { { "group", "drop" }, "unknown command 'group drop'" },
        { { "group", "describe" }, "'group describe' needs a group name" },
        { { "group", "describe", "" }, "empty group name" },
        { { "group", "describe", "g", "h" }, "unexpected argument 'h'" },
        { { "group", "list", "g" }, "unexpected argument 'g'" },
        { { "group", "list", "--under-replicated" }, "--under-replicated applies only" },
        { { "group", "describe", "g", "--partitions", "3" }, "--partitions applies only" },
        { { "group", "describe", "g", "--config", "a=b" }, "apply only to 'topic create'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ctl_expect_parse_error(i, cases[i].args, cases[i].why);
}
END_TEST

START_TEST(test_args_group_name_bound)
{
    static ctl_args_t a;
    static char name[CTL_GROUP_NAME_MAX + 2];
    char err[256];
    memset(name, 'g', CTL_GROUP_NAME_MAX);
    name[CTL_GROUP_NAME_MAX] = '\0';
    ck_assert_int_eq(PARSE(&no_env, &a, "group", "describe", name), 0);
    name[CTL_GROUP_NAME_MAX] = 'g';
    name[CTL_GROUP_NAME_MAX + 1] = '\0';
    ck_assert_int_eq(PARSE(&no_env, &a, "group", "describe", name), -1);
    ck_assert_ptr_nonnull(strstr(err, "group name too long"));
}
END_TEST

START_TEST(test_usage_lists_group_commands)
{
    capture_t c;
    capture_open(&c);
    ctl_usage(c.f);
    const char *out = capture_close(&c);
    ck_assert_ptr_nonnull(strstr(out, "group list [--json]"));
    ck_assert_ptr_nonnull(strstr(out, "group describe NAME [--json]"));
    free(c.buf);
}
END_TEST

/* ---- Coordinator partition ---------------------------------------------------- */

/* Expected values from Java: Utils.abs(group.hashCode()) % n. */
START_TEST(test_partition_for_matches_kafka)
{
    static const struct { const char *group; int32_t n; int32_t want; } cases[] = {
        { "", 50, 0 },
        { "hello", 50, 22 },                         /* hashCode 99162322 */
        { "test-group", 50, 12 },
        { "test-group", 7, 2 },
        { "console-consumer-12345", 50, 6 },
        { "abcdefghijklmnop", 50, 32 },              /* hashCode -2093879032 */
        { "polygenelubricants", 50, 0 },             /* hashCode Integer.MIN_VALUE */
        { "caf\xc3\xa9", 1, 0 },
        { "\xc3\xa9", 50, 33 },                      /* U+00E9: one UTF-16 unit */
        { "\xf0\x9f\x98\x80", 50, 49 },              /* U+1F600: a surrogate pair */
        { "caf\xc3\xa9-\xf0\x9f\x98\x80-grp", 50, 35 },
        { "\xff", 50, 33 },                          /* invalid: U+FFFD */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(cairn_group_partition_for(cases[i].group, cases[i].n) == cases[i].want,
                      "case %zu: got %d want %d", i,
                      cairn_group_partition_for(cases[i].group, cases[i].n), cases[i].want);
    /* An encoded surrogate is three invalid bytes: three U+FFFD. */
    uint32_t h = 0;
    for (int k = 0; k < 3; k++)
        h = 31 * h + 0xFFFDu;
    ck_assert_int_eq(cairn_group_partition_for("\xed\xa0\x80", 1000), (int32_t)(h % 1000));
    /* A sequence cut short by the end of the string. */
    ck_assert_int_eq(cairn_group_partition_for("\xe2\x82", 1000),
                     (int32_t)((31u * 0xFFFDu + 0xFFFDu) % 1000));
}
END_TEST

/* ---- Group list ----------------------------------------------------------------- */

typedef struct list_sample {
    Cairn__GroupListing g[3];
    Cairn__GroupListing *ptrs[3];
    Cairn__ListGroupsResponse r;
} list_sample_t;

static void listing(list_sample_t *s, size_t n, const char *const *ids, const char *const *states)
{
    memset(s, 0, sizeof *s);
    cairn__list_groups_response__init(&s->r);
    for (size_t i = 0; i < n; i++) {
        cairn__group_listing__init(&s->g[i]);
        s->g[i].group_id = (char *)ids[i];
        s->g[i].state = (char *)states[i];
        s->g[i].protocol_type = (char *)(strcmp(states[i], "Empty") == 0 ? "" : "consumer");
        s->ptrs[i] = &s->g[i];
    }
    s->r.groups = s->ptrs;
    s->r.n_groups = n;
}

START_TEST(test_group_list_union)
{
    static list_sample_t b1, b2, b3;
    listing(&b1, 2, (const char *const[]){ "zeta", "moving" },
            (const char *const[]){ "Stable", "Dead" });
    listing(&b2, 2, (const char *const[]){ "moving", "alpha" },
            (const char *const[]){ "Stable", "Empty" });
    listing(&b3, 1, (const char *const[]){ "zeta" }, (const char *const[]){ "Stable" });
    ctl_group_list_t l = { 0 };
    ck_assert_int_eq(ctl_group_list_add(&l, 3, &b3.r), 0);
    ck_assert_int_eq(ctl_group_list_add(&l, 1, &b1.r), 0);
    ck_assert_int_eq(ctl_group_list_add(&l, 2, &b2.r), 0);
    ctl_group_list_finish(&l);
    ck_assert_uint_eq(l.n_groups, 3);
    ck_assert_str_eq(l.groups[0].group_id, "alpha");
    ck_assert_int_eq(l.groups[0].coordinator, 2);
    ck_assert_str_eq(l.groups[1].group_id, "moving");   /* not the Dead entry of broker 1 */
    ck_assert_str_eq(l.groups[1].state, "Stable");
    ck_assert_int_eq(l.groups[1].coordinator, 2);
    ck_assert_str_eq(l.groups[2].group_id, "zeta");     /* the lower broker id */
    ck_assert_int_eq(l.groups[2].coordinator, 1);

    capture_t c;
    capture_open(&c);
    ck_assert_int_eq(ctl_print_group_list(c.f, &l, false), 0);
    ck_assert_int_eq(ctl_print_group_list(c.f, &l, true), 0);
    ck_assert_str_eq(capture_close(&c),
        "GROUP   STATE   PROTOCOL-TYPE  COORDINATOR\n"
        "alpha   Empty   -              2\n"
        "moving  Stable  consumer       2\n"
        "zeta    Stable  consumer       1\n"
        "{\"groups\": [{\"group\": \"alpha\", \"state\": \"Empty\", \"protocol_type\": \"\", "
        "\"coordinator\": 2}, {\"group\": \"moving\", \"state\": \"Stable\", \"protocol_type\": "
        "\"consumer\", \"coordinator\": 2}, {\"group\": \"zeta\", \"state\": \"Stable\", "
        "\"protocol_type\": \"consumer\", \"coordinator\": 1}]}\n");
    free(c.buf);
    ctl_group_list_free(&l);

    capture_open(&c);
    ck_assert_int_eq(ctl_print_group_list(c.f, &l, false), 0);
    ck_assert_int_eq(ctl_print_group_list(c.f, &l, true), 0);
    ck_assert_str_eq(capture_close(&c), "No consumer groups.\n{\"groups\": []}\n");
    free(c.buf);
}
END_TEST

/* ---- Group describe ---------------------------------------------------------------- */

/* Two members of "orders" with partitions 0-1 and 2-3, a third without any;
 * offsets committed for orders 0, 1 and 3 (3 at -1: none) and for a
 * partition of "audit" that nobody owns. */
typedef struct group_sample {
    int32_t p01[2], p23[2];
    Cairn__GroupTopicPartitions tp[2];
    Cairn__GroupTopicPartitions *tp_ptrs[2];
    Cairn__GroupMemberDescription m[3];
    Cairn__GroupMemberDescription *m_ptrs[3];
    Cairn__GroupOffset o[4];
    Cairn__GroupOffset *o_ptrs[4];
    Cairn__DescribeGroupResponse g;
} group_sample_t;

static void group_sample_init(group_sample_t *s)
{
    memset(s, 0, sizeof *s);
    s->p01[0] = 1;   /* out of order on purpose */
    s->p01[1] = 0;
    s->p23[0] = 2;
    s->p23[1] = 3;
    static const char *const ids[] = { "m-b", "m-a", "m-idle" };
    for (int i = 0; i < 3; i++) {
        cairn__group_member_description__init(&s->m[i]);
        s->m[i].member_id = (char *)ids[i];
        s->m[i].client_id = (char *)(i == 2 ? "idle" : "app");
        s->m[i].client_host = (char *)(i == 1 ? "/10.0.0.2" : "/10.0.0.1");
        s->m_ptrs[i] = &s->m[i];
    }
    s->m[1].group_instance_id = "static-1";
    for (int i = 0; i < 2; i++) {
        cairn__group_topic_partitions__init(&s->tp[i]);
        s->tp[i].topic = "orders";
        s->tp[i].partitions = i ? s->p23 : s->p01;
        s->tp[i].n_partitions = 2;
        s->tp_ptrs[i] = &s->tp[i];
        s->m[i].assigned = &s->tp_ptrs[i];
        s->m[i].n_assigned = 1;
    }
    static const struct { const char *topic; int32_t part; int64_t off; const char *md; } o[] = {
        { "orders", 3, -1, "" }, { "audit", 0, 7, "" }, { "orders", 1, 40, "x" },
        { "orders", 0, 12, "" },
    };
    for (int i = 0; i < 4; i++) {
        cairn__group_offset__init(&s->o[i]);
        s->o[i].topic = (char *)o[i].topic;
        s->o[i].partition = o[i].part;
        s->o[i].offset = o[i].off;
        s->o[i].leader_epoch = -1;
        s->o[i].metadata = (char *)o[i].md;
        s->o_ptrs[i] = &s->o[i];
    }
    cairn__describe_group_response__init(&s->g);
    s->g.group_id = "orders-app";
    s->g.state = "Stable";
    s->g.protocol_type = "consumer";
    s->g.protocol = "range";
    s->g.generation = 3;
    s->g.leader = "m-a";
    s->g.members = s->m_ptrs;
    s->g.n_members = 3;
    s->g.offsets = s->o_ptrs;
    s->g.n_offsets = 4;
}

START_TEST(test_group_rows_merge_and_lag)
{
    static group_sample_t s;
    group_sample_init(&s);
    ctl_group_rows_t r;
    ck_assert_int_eq(ctl_group_rows_init(&r, &s.g), 0);
    ck_assert_uint_eq(r.n_rows, 6);
    static const struct { const char *topic; int32_t part; int off; const char *member; } want[] = {
        { "audit", 0, 1, NULL }, { "orders", 0, 1, "m-b" }, { "orders", 1, 1, "m-b" },
        { "orders", 2, 0, "m-a" }, { "orders", 3, 1, "m-a" }, { NULL, 0, 0, "m-idle" },
    };
    for (size_t i = 0; i < 6; i++) {
        const ctl_group_row_t *row = &r.rows[i];
        if (want[i].topic)
            ck_assert_str_eq(row->topic, want[i].topic);
        else
            ck_assert_ptr_null(row->topic);
        if (want[i].topic)
            ck_assert_int_eq(row->partition, want[i].part);
        ck_assert_msg((row->offset != NULL) == (want[i].off != 0), "row %zu offset", i);
        if (want[i].member)
            ck_assert_str_eq(row->member->member_id, want[i].member);
        else
            ck_assert_ptr_null(row->member);
    }
    int64_t v;
    ck_assert(!ctl_group_row_committed(&r.rows[4], &v));   /* committed -1 */
    ck_assert(ctl_group_row_committed(&r.rows[1], &v));
    ck_assert_int_eq(v, 12);
    ck_assert(!ctl_group_row_lag(&r.rows[1], &v));         /* no log end yet */
    r.rows[1].has_log_end = true;
    r.rows[1].log_end_offset = 20;
    ck_assert(ctl_group_row_lag(&r.rows[1], &v));
    ck_assert_int_eq(v, 8);
    r.rows[1].log_end_offset = 12;
    ck_assert(ctl_group_row_lag(&r.rows[1], &v));
    ck_assert_int_eq(v, 0);
    r.rows[1].log_end_offset = 10;   /* the log was truncated below the commit */
    ck_assert(ctl_group_row_lag(&r.rows[1], &v));
    ck_assert_int_eq(v, -2);
    r.rows[3].has_log_end = true;    /* owned, nothing committed */
    r.rows[3].log_end_offset = 5;
    ck_assert(!ctl_group_row_lag(&r.rows[3], &v));
    ctl_group_rows_free(&r);
}
END_TEST

static char *render_group(const Cairn__DescribeGroupResponse *g, ctl_group_rows_t *r, bool json)
{
    capture_t c;
    capture_open(&c);
    ck_assert_int_eq(ctl_print_group(c.f, g, 2, r, json), 0);
    capture_close(&c);
    return c.buf;
}

/* Log end offsets for orders 0, 1 and 2; none for 3 (its leader did not
 * answer) or for audit. */
static void set_log_ends(ctl_group_rows_t *r)
{
    static const int64_t leo[] = { -1, 20, 45, 9, -1, -1 };
    for (size_t i = 0; i < r->n_rows; i++)
        if (leo[i] >= 0) {
            r->rows[i].has_log_end = true;
            r->rows[i].log_end_offset = leo[i];
        }
}

START_TEST(test_print_group_table)
{
    static group_sample_t s;
    group_sample_init(&s);
    ctl_group_rows_t r;
    ck_assert_int_eq(ctl_group_rows_init(&r, &s.g), 0);
    set_log_ends(&r);
    char *out = render_group(&s.g, &r, false);
    ck_assert_str_eq(out,
        "Group: orders-app\tState: Stable\tProtocolType: consumer\tProtocol: range\t"
        "Generation: 3\tCoordinator: 2\tMembers: 3\n"
        "\n"
        "GROUP       TOPIC   PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  CONSUMER-ID  "
        "HOST       CLIENT-ID\n"
        "orders-app  audit   0          7               -               -    -            "
        "-          -\n"
        "orders-app  orders  0          12              20              8    m-b          "
        "/10.0.0.1  app\n"
        "orders-app  orders  1          40              45              5    m-b          "
        "/10.0.0.1  app\n"
        "orders-app  orders  2          -               9               -    m-a          "
        "/10.0.0.2  app\n"
        "orders-app  orders  3          -               -               -    m-a          "
        "/10.0.0.2  app\n"
        "orders-app  -       -          -               -               -    m-idle       "
        "/10.0.0.1  idle\n"
        "\n"
        "CONSUMER-ID  GROUP-INSTANCE-ID  HOST       CLIENT-ID  #PARTITIONS  ASSIGNMENT\n"
        "m-b          -                  /10.0.0.1  app        2            orders(1,0)\n"
        "m-a          static-1           /10.0.0.2  app        2            orders(2,3)\n"
        "m-idle       -                  /10.0.0.1  idle       0            -\n");
    free(out);
    ctl_group_rows_free(&r);
}
END_TEST

START_TEST(test_print_group_json)
{
    static group_sample_t s;
    group_sample_init(&s);
    ctl_group_rows_t r;
    ck_assert_int_eq(ctl_group_rows_init(&r, &s.g), 0);
    set_log_ends(&r);
    char *out = render_group(&s.g, &r, true);
    ck_assert_str_eq(out,
        "{\"group\": \"orders-app\", \"state\": \"Stable\", \"protocol_type\": \"consumer\", "
        "\"protocol\": \"range\", \"generation\": 3, \"coordinator\": 2, \"leader\": \"m-a\", "
        "\"members\": ["
        "{\"member_id\": \"m-b\", \"group_instance_id\": null, \"client_id\": \"app\", "
        "\"host\": \"/10.0.0.1\", \"assignments\": [{\"topic\": \"orders\", \"partitions\": [1, 0]}]}, "
        "{\"member_id\": \"m-a\", \"group_instance_id\": \"static-1\", \"client_id\": \"app\", "
        "\"host\": \"/10.0.0.2\", \"assignments\": [{\"topic\": \"orders\", \"partitions\": [2, 3]}]}, "
        "{\"member_id\": \"m-idle\", \"group_instance_id\": null, \"client_id\": \"idle\", "
        "\"host\": \"/10.0.0.1\", \"assignments\": []}], "
        "\"offsets\": ["
        "{\"topic\": \"audit\", \"partition\": 0, \"committed_offset\": 7, \"log_end_offset\": null, "
        "\"lag\": null, \"member_id\": null, \"metadata\": \"\"}, "
        "{\"topic\": \"orders\", \"partition\": 0, \"committed_offset\": 12, \"log_end_offset\": 20, "
        "\"lag\": 8, \"member_id\": \"m-b\", \"metadata\": \"\"}, "
        "{\"topic\": \"orders\", \"partition\": 1, \"committed_offset\": 40, \"log_end_offset\": 45, "
        "\"lag\": 5, \"member_id\": \"m-b\", \"metadata\": \"x\"}, "
        "{\"topic\": \"orders\", \"partition\": 2, \"committed_offset\": null, \"log_end_offset\": 9, "
        "\"lag\": null, \"member_id\": \"m-a\", \"metadata\": \"\"}, "
        "{\"topic\": \"orders\", \"partition\": 3, \"committed_offset\": null, \"log_end_offset\": null, "
        "\"lag\": null, \"member_id\": \"m-a\", \"metadata\": \"\"}]}\n");
    free(out);
    ctl_group_rows_free(&r);
}
END_TEST

START_TEST(test_print_group_empty)
{
    Cairn__DescribeGroupResponse g = CAIRN__DESCRIBE_GROUP_RESPONSE__INIT;
    g.group_id = "idle";
    g.state = "Empty";
    ctl_group_rows_t r;
    ck_assert_int_eq(ctl_group_rows_init(&r, &g), 0);
    ck_assert_uint_eq(r.n_rows, 0);
    char *out = render_group(&g, &r, false);
    ck_assert_str_eq(out,
        "Group: idle\tState: Empty\tProtocolType: -\tProtocol: -\tGeneration: 0\t"
        "Coordinator: 2\tMembers: 0\n"
        "\n"
        "No committed offsets and no assigned partitions.\n"
        "\n"
        "No active members.\n");
    free(out);
    out = render_group(&g, &r, true);
    ck_assert_str_eq(out,
        "{\"group\": \"idle\", \"state\": \"Empty\", \"protocol_type\": \"\", \"protocol\": \"\", "
        "\"generation\": 0, \"coordinator\": 2, \"leader\": null, \"members\": [], "
        "\"offsets\": []}\n");
    free(out);
    ctl_group_rows_free(&r);
}
END_TEST

static Suite *ctl_groups_suite(void)
{
    Suite *s = suite_create("ctl_groups");
    TCase *args = tcase_create("args");
    tcase_add_test(args, test_args_group_commands);
    tcase_add_test(args, test_args_group_errors);
    tcase_add_test(args, test_args_group_name_bound);
    tcase_add_test(args, test_usage_lists_group_commands);
    suite_add_tcase(s, args);
    TCase *view = tcase_create("view");
    tcase_add_test(view, test_partition_for_matches_kafka);
    tcase_add_test(view, test_group_list_union);
    tcase_add_test(view, test_group_rows_merge_and_lag);
    suite_add_tcase(s, view);
    TCase *print = tcase_create("print");
    tcase_add_test(print, test_print_group_table);
    tcase_add_test(print, test_print_group_json);
    tcase_add_test(print, test_print_group_empty);
    suite_add_tcase(s, print);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ctl_groups_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
