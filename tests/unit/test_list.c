/* test_list.c - the models' one intrusive list (src/model/list.h): order,
 * O(1) removal from anywhere (the event loops' pending, remote and closing
 * lists rely on it), removal while walking, splicing, and the "on a list?"
 * test, table-driven over sequences of operations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/list.h"

#include "sockit/util.h"

#include <string.h>

struct item {
    char name;
    struct sk__list link;
};

/* The names on h in order, as a string. */
static void names(const struct sk__list *h, char *out)
{
    size_t k = 0;
    for (const struct sk__list *n = h->next; n != h; n = n->next)
        out[k++] = SK_LIST_ENTRY(n, struct item, link)->name;
    out[k] = '\0';
    /* The links agree backwards too. */
    for (const struct sk__list *n = h->prev; n != h; n = n->prev)
        assert_int_equal(SK_LIST_ENTRY(n, struct item, link)->name, out[--k]);
    assert_int_equal(k, 0);
}

static void test_ops(void **unused)
{
    (void)unused;
    /* ops: a letter pushes that item, -x removes x, ? pops the first. */
    static const struct {
        const char *ops, *want;
    } rows[] = {
        {"", ""},          {"abc", "abc"}, /* appended in order */
        {"abc-a", "bc"},                   /* first */
        {"abc-b", "ac"},                   /* middle: no walk needed */
        {"abc-c", "ab"},                   /* last */
        {"abc-a-b-c", ""},                 /* all */
        {"ab-a-a", "b"},                   /* removing twice is a no-op */
        {"ab-aa", "ba"},                   /* a removed item can go back */
        {"abc??", "c"},                    /* popping takes the first */
        {"?a", "a"},                       /* popping an empty list gives nothing */
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        struct item it[26];
        struct sk__list h;
        char got[32];
        sk__list_init(&h);
        for (int j = 0; j < 26; j++) {
            it[j].name = (char)('a' + j);
            sk__list_init(&it[j].link);
        }
        for (const char *p = rows[i].ops; *p; p++) {
            if (*p == '-') {
                sk__list_remove(&it[*++p - 'a'].link);
            } else if (*p == '?') {
                struct sk__list *n = sk__list_first(&h);
                if (n)
                    sk__list_remove(n);
            } else {
                sk__list_push(&h, &it[*p - 'a'].link);
            }
        }
        names(&h, got);
        assert_string_equal(got, rows[i].want);
        assert_int_equal(sk__list_empty(&h), rows[i].want[0] == '\0');
        for (int j = 0; j < 26; j++)
            assert_int_equal(sk__list_linked(&it[j].link), strchr(rows[i].want, 'a' + j) != NULL);
    }
}

static void test_remove_while_walking(void **unused)
{
    (void)unused;
    struct item it[6];
    struct sk__list h, *n, *tmp;
    char got[8];

    sk__list_init(&h);
    for (int j = 0; j < 6; j++) {
        it[j].name = (char)('a' + j);
        sk__list_init(&it[j].link);
        sk__list_push(&h, &it[j].link);
    }
    /* Remove every other one during the walk, as the loop's stop and bury do. */
    int k = 0;
    SK_LIST_EACH_SAFE(n, tmp, &h)
    {
        if (k++ % 2 == 0)
            sk__list_remove(n);
    }
    names(&h, got);
    assert_string_equal(got, "bdf");
}

static void test_splice(void **unused)
{
    (void)unused;
    static const struct {
        const char *to, *from, *want;
    } rows[] = {{"ab", "cd", "abcd"}, {"", "cd", "cd"}, {"ab", "", "ab"}, {"", "", ""}};
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        struct item it[26];
        struct sk__list to, from;
        char got[32];
        sk__list_init(&to);
        sk__list_init(&from);
        for (int j = 0; j < 26; j++)
            it[j].name = (char)('a' + j);
        for (const char *p = rows[i].to; *p; p++)
            sk__list_push(&to, &it[*p - 'a'].link);
        for (const char *p = rows[i].from; *p; p++)
            sk__list_push(&from, &it[*p - 'a'].link);
        sk__list_splice(&to, &from);
        names(&to, got);
        assert_string_equal(got, rows[i].want);
        assert_true(sk__list_empty(&from));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops),
        cmocka_unit_test(test_remove_while_walking),
        cmocka_unit_test(test_splice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
