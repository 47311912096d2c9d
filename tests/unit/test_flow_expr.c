/* Expression Language (flow/expr.h) and parameter contexts (flow/params.h):
 * every function with normal and edge inputs, NiFi's escapes, compile and
 * evaluation errors with their positions, nesting, parameter references,
 * inheritance order and shadowing, cycles, sensitive masking, run-time
 * changes and buffer reuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flow/expr.h"
#include "flow/params.h"

/* ------------------------------------------------------------------------ */
/* Fixture: a fixed attribute map and an optional parameter context          */

struct kv {
    const char *name;
    const char *value;
};

static const struct kv attrs[] = {
    {"filename", "a brand new filename.txt"},
    {"name", "Report"},
    {"padded", "  padded \t"},
    {"attr with spaces", "spaced"},
    {"x:y", "colon"},
    {"mime.type", "text/plain"},
    {"kafka.key-2", "k2"},
    {"count", "12"},
    {"neg", "-7"},
    {"zero", "0"},
    {"empty", ""},
    {"blank", "   "},
    {"flag", "TRUE"},
    {"no", "false"},
    {"ext", "txt"},
    {"big", "9223372036854775807"},
    {"small", "-9223372036854775808"},
    {"word", "abc"},
    {"aaa", "aaaa"},
    {NULL, NULL},
};

static int attr_calls;

static const char *attr_lookup(void *ctx, const char *name)
{
    const struct kv *t = ctx;
    attr_calls++;
    for (; t->name; t++) {
        if (strcmp(t->name, name) == 0) {
            return t->value;
        }
    }
    return NULL;
}

static const struct kv test_params[] = {
    {"abc", "xxx"},           {"def", "yyy"},       {"suffix", ".bak"},
    {"db.host", "db1.local"}, {"My Param", "mine"}, {NULL, NULL},
};

static struct weir_expr_env env_of(const void *param_ctx, weir_expr_lookup_fn param)
{
    struct weir_expr_env env = {.attr = attr_lookup,
                                .attr_ctx = (void *)attrs,
                                .param = param,
                                .param_ctx = (void *)param_ctx};
    return env;
}

static struct weir_expr_env test_env(void)
{
    return env_of(test_params, attr_lookup);
}

/* Compiles and evaluates text; asserts success and the result. */
static void check_env(const char *text, const struct weir_expr_env *env, const char *want)
{
    char why[256];
    struct weir_expr *ex = NULL;
    int rc = weir_expr_compile(text, &ex, why, sizeof why);
    if (rc) {
        print_error("compile \"%s\": %s\n", text, why);
    }
    assert_int_equal(rc, 0);
    struct weir_expr_buf out;
    weir_expr_buf_init(&out);
    rc = weir_expr_eval(ex, env, &out, why, sizeof why);
    if (rc) {
        print_error("eval \"%s\": %s\n", text, why);
    }
    assert_int_equal(rc, 0);
    if (strcmp(out.data, want) != 0) {
        print_error("eval \"%s\": got \"%s\", want \"%s\"\n", text, out.data, want);
    }
    assert_string_equal(out.data, want);
    assert_int_equal(out.len, strlen(want));
    weir_expr_buf_free(&out);
    weir_expr_free(ex);
}

static void check(const char *text, const char *want)
{
    struct weir_expr_env env = test_env();
    check_env(text, &env, want);
}

static void check_compile_error(const char *text, const char *want_why)
{
    char why[256] = "";
    struct weir_expr *ex = (struct weir_expr *)&why; /* must become NULL */
    int rc = weir_expr_compile(text, &ex, why, sizeof why);
    if (rc != WEIR_E_INVAL || strcmp(why, want_why) != 0) {
        print_error("compile \"%s\": rc %d why \"%s\", want \"%s\"\n", text, rc, why, want_why);
    }
    assert_int_equal(rc, WEIR_E_INVAL);
    assert_null(ex);
    assert_string_equal(why, want_why);
}

static void check_eval_error(const char *text, int want_rc, const char *want_why)
{
    char why[256] = "";
    struct weir_expr *ex = NULL;
    assert_int_equal(weir_expr_compile(text, &ex, why, sizeof why), 0);
    struct weir_expr_buf out;
    weir_expr_buf_init(&out);
    struct weir_expr_env env = test_env();
    int rc = weir_expr_eval(ex, &env, &out, why, sizeof why);
    if (rc != want_rc || strcmp(why, want_why) != 0) {
        print_error("eval \"%s\": rc %d why \"%s\", want \"%s\"\n", text, rc, why, want_why);
    }
    assert_int_equal(rc, want_rc);
    assert_string_equal(why, want_why);
    assert_int_equal(out.len, 0);
    assert_string_equal(out.data, "");
    weir_expr_buf_free(&out);
    weir_expr_free(ex);
}

/* ------------------------------------------------------------------------ */
/* Text, references and escapes                                             */

static void test_expr_plain_text_is_a_literal_and_needs_no_lookups(void **state)
{
    (void)state;
    struct weir_expr *ex;
    char why[128];
    assert_int_equal(weir_expr_compile("just text, $5 and #5", &ex, why, sizeof why), 0);
    assert_true(weir_expr_is_literal(ex));
    assert_string_equal(weir_expr_literal(ex), "just text, $5 and #5");
    assert_false(weir_expr_uses_attributes(ex));
    assert_int_equal(weir_expr_param_count(ex), 0);
    assert_int_equal(weir_expr_result_type(ex), WEIR_EXPR_STRING);
    attr_calls = 0;
    check("just text, $5 and #5", "just text, $5 and #5");
    assert_int_equal(attr_calls, 0);
    weir_expr_free(ex);
    check("", "");
}

static void test_expr_attribute_references_plain_quoted_and_missing(void **state)
{
    (void)state;
    check("${filename}", "a brand new filename.txt");
    check("name=${name}!", "name=Report!");
    check("${'attr with spaces'}", "spaced");
    check("${\"attr with spaces\"}", "spaced");
    check("${'x:y'}", "colon");
    check("${mime.type}/${kafka.key-2}", "text/plain/k2");
    check("[${missing}]", "[]");
    check("${ name }", "Report");
    check("${\tname :toUpper( ) }", "REPORT");
    check("${name}${name}", "ReportReport");
}

static void test_expr_dollar_escapes_follow_nifi_table(void **state)
{
    (void)state;
    check("${word}", "abc");
    check("$${word}", "${word}");
    check("$$${word}", "$abc");
    check("$$$${word}", "$${word}");
    check("$$$$${word}", "$$abc");
    check("I owe you $5", "I owe you $5");
    check("You owe me $$5 too", "You owe me $$5 too");
    check("Hello $${UserName}", "Hello ${UserName}");
    check("Unescaped $${5 because no closing brace", "Unescaped $${5 because no closing brace");
    check("$", "$");
    check("a$", "a$");
}

static void test_expr_parameter_references_and_hash_escapes(void **state)
{
    (void)state;
    check("#{abc}", "xxx");
    check("#{abc}/data", "xxx/data");
    check("#{abc}/#{def}", "xxx/yyy");
    check("#{abc", "#{abc");
    check("#abc", "#abc");
    check("##{abc}", "#{abc}");
    check("###{abc}", "#xxx");
    check("####{abc}", "##{abc}");
    check("#####{abc}", "##xxx");
    check("#{My Param}", "mine");
    check("#{db.host}:9092", "db1.local:9092");
}

static void test_expr_parameter_inside_an_expression_as_subject_and_argument(void **state)
{
    (void)state;
    check("${ #{abc}:replace('xxx', 'zzz') }", "zzz");
    check("${#{abc}:toUpper()}", "XXX");
    check("${name:append(#{suffix})}", "Report.bak");
    struct weir_expr *ex;
    char why[128];
    assert_int_equal(
        weir_expr_compile("#{abc}${#{def}:append(#{abc})}#{suffix}", &ex, why, sizeof why), 0);
    assert_int_equal(weir_expr_param_count(ex), 3); /* distinct, in order of first use */
    assert_string_equal(weir_expr_param_name(ex, 0), "abc");
    assert_string_equal(weir_expr_param_name(ex, 1), "def");
    assert_string_equal(weir_expr_param_name(ex, 2), "suffix");
    assert_null(weir_expr_param_name(ex, 3));
    assert_false(weir_expr_is_literal(ex));
    assert_false(weir_expr_uses_attributes(ex));
    weir_expr_free(ex);
}

static void test_expr_missing_parameter_is_noent_with_position(void **state)
{
    (void)state;
    check_eval_error("ab#{nope}", WEIR_E_NOENT, "position 3: no parameter 'nope'");
    check_eval_error("${name:append(#{nope})}", WEIR_E_NOENT, "position 15: no parameter 'nope'");
    /* no parameter lookup at all: every reference is missing */
    struct weir_expr *ex;
    char why[128];
    assert_int_equal(weir_expr_compile("#{abc}", &ex, why, sizeof why), 0);
    struct weir_expr_env env = env_of(NULL, NULL);
    struct weir_expr_buf out;
    weir_expr_buf_init(&out);
    assert_int_equal(weir_expr_eval(ex, &env, &out, why, sizeof why), WEIR_E_NOENT);
    assert_string_equal(why, "position 1: no parameter 'abc'");
    weir_expr_buf_free(&out);
    weir_expr_free(ex);
}

/* ------------------------------------------------------------------------ */
/* Functions                                                                */

static void test_expr_case_and_trim_functions(void **state)
{
    (void)state;
    check("${name:toUpper()}", "REPORT");
    check("${name:toLower()}", "report");
    check("${empty:toUpper()}", "");
    check("${missing:toUpper()}", "");
    check("${missing:toUpper():isNull()}", "true"); /* null stays null */
    check("[${padded:trim()}]", "[padded]");
    check("[${blank:trim()}]", "[]");
    check("[${name:trim()}]", "[Report]");
    check("${count:plus(1):toUpper()}", "13"); /* a number becomes its string */
}

static void test_expr_substring_follows_nifi_examples_and_edges(void **state)
{
    (void)state;
    check("${filename:substring(0,1)}", "a");
    check("${filename:substring(2)}", "brand new filename.txt");
    check("${filename:substring(12)}", "filename.txt");
    check("${filename:substring( ${filename:length():minus(2)} )}", "xt");
    check("[${word:substring(3)}]", "[]");      /* start == length */
    check("[${word:substring(1,1)}]", "[]");    /* empty range */
    check("[${word:substring(0,3)}]", "[abc]"); /* end == length */
    check("[${word:substring(4)}]", "[]");      /* start > length: "" (NiFi) */
    check("[${word:substring(1,4)}]", "[]");    /* end > length: "" (NiFi) */
    check("[${word:substring(-1)}]", "[]");     /* negative: "" (NiFi) */
    check("[${word:substring('1')}]", "[bc]");  /* a numeric string argument */
    check("[${missing:substring(1)}]", "[]");
    check_eval_error("${word:substring(2,1)}", WEIR_E_INVAL,
                     "position 8: substring: start 2 is after end 1");
}

static void test_expr_append_prepend_and_replace(void **state)
{
    (void)state;
    check("${name:append('.txt')}", "Report.txt");
    check("${name:prepend('my-')}", "my-Report");
    check("${missing:append('x')}", "x");
    check("${name:append('')}", "Report");
    check("${filename:toUpper():append('.txt')}", "A BRAND NEW FILENAME.TXT.txt");
    check("${filename:replace(' ', '_')}", "a_brand_new_filename.txt");
    check("${filename:replace('.txt', '')}", "a brand new filename");
    check("${filename:replace('zzz', 'y')}", "a brand new filename.txt");
    check("${word:replace('', 'y')}", "abc");        /* empty search: unchanged */
    check("${aaa:replace('aa', 'b')}", "bb");        /* left to right, no overlap */
    check("${word:replace('b', 'BBBB')}", "aBBBBc"); /* grows */
    check("${word:replace('abcd', 'x')}", "abc");    /* search longer than subject */
    check("${missing:replace('a', 'b'):isNull()}", "true");
    check("${word:replace('b', ${name:toLower()})}", "areportc");
}

static void test_expr_null_and_empty_replacements_and_tostring(void **state)
{
    (void)state;
    check("${missing:replaceNull('dflt')}", "dflt");
    check("${empty:replaceNull('dflt')}", "");
    check("${name:replaceNull('dflt')}", "Report");
    check("${missing:replaceEmpty('dflt')}", "dflt");
    check("${empty:replaceEmpty('dflt')}", "dflt");
    check("${blank:replaceEmpty('dflt')}", "dflt");
    check("${name:replaceEmpty('dflt')}", "Report");
    check("${count:toNumber():toString():append('!')}", "12!");
    check("${missing:toString():isNull()}", "false");
}

static void test_expr_length_and_tonumber(void **state)
{
    (void)state;
    check("${name:length()}", "6");
    check("${empty:length()}", "0");
    check("${missing:length()}", "0");
    check("${count:toNumber():plus(1)}", "13");
    check("${neg:toNumber()}", "-7");
    check("${big:toNumber()}", "9223372036854775807");
    check("${small:toNumber()}", "-9223372036854775808");
    check("${missing:toNumber():isNull()}", "true");
    check_eval_error("${name:toNumber()}", WEIR_E_INVAL,
                     "position 8: toNumber: subject 'Report' is not a whole number");
}

static void test_expr_string_predicates(void **state)
{
    (void)state;
    check("${filename:contains('new')}", "true");
    check("${filename:contains('old')}", "false");
    check("${filename:contains('')}", "true");
    check("${filename:startsWith('a brand')}", "true");
    check("${filename:startsWith('brand')}", "false");
    check("${filename:endsWith('.txt')}", "true");
    check("${filename:endsWith('.csv')}", "false");
    check("${word:endsWith('xabc')}", "false");
    check("${name:equals('Report')}", "true");
    check("${name:equals('report')}", "false");
    check("${name:equals('Repor')}", "false");
    check("${name:equalsIgnoreCase('rEPORT')}", "true");
    check("${name:equalsIgnoreCase('rEPOR')}", "false");
    check("${count:toNumber():equals('12')}", "true");
    check("${missing:equals('')}", "false");
    check("${missing:contains('')}", "false");
    check("${empty:isEmpty()}", "true");
    check("${blank:isEmpty()}", "true");
    check("${missing:isEmpty()}", "true");
    check("${name:isEmpty()}", "false");
    check("${missing:isNull()}${missing:notNull()}", "truefalse");
    check("${empty:isNull()}${empty:notNull()}", "falsetrue");
}

static void test_expr_arithmetic_and_comparisons(void **state)
{
    (void)state;
    check("${count:plus(5)}", "17");
    check("${count:minus(20)}", "-8");
    check("${count:multiply(-3)}", "-36");
    check("${count:divide(5)}", "2");
    check("${neg:divide(2)}", "-3"); /* truncates toward zero */
    check("${count:mod(5)}", "2");
    check("${neg:mod(4)}", "-3");
    check("${count:plus(${neg})}", "5");
    check("${count:plus('3')}", "15");
    check("${count:gt(11)}${count:gt(12)}", "truefalse");
    check("${count:ge(12)}${count:ge(13)}", "truefalse");
    check("${count:lt(13)}${count:lt(12)}", "truefalse");
    check("${count:le(12)}${count:le(11)}", "truefalse");
    check("${missing:gt(1)}", "false");
    check("[${missing:plus(1)}]", "[]");
    check("${small:divide(1)}", "-9223372036854775808");
    check("${small:mod(-1)}", "0");
    check("${literal(7):plus(1)}", "8");
}

static void test_expr_arithmetic_errors_name_the_function_position(void **state)
{
    (void)state;
    check_eval_error("${count:divide(0)}", WEIR_E_INVAL, "position 9: divide: division by zero");
    check_eval_error("${count:mod(${zero})}", WEIR_E_INVAL, "position 9: mod: division by zero");
    check_eval_error("${big:plus(1)}", WEIR_E_INVAL,
                     "position 7: plus: 9223372036854775807 and 1 overflow a 64-bit number");
    check_eval_error("${small:minus(1)}", WEIR_E_INVAL,
                     "position 9: minus: -9223372036854775808 and 1 overflow a 64-bit number");
    check_eval_error("${big:multiply(2)}", WEIR_E_INVAL,
                     "position 7: multiply: 9223372036854775807 and 2 overflow a 64-bit number");
    check_eval_error("${small:divide(-1)}", WEIR_E_INVAL,
                     "position 9: divide: -9223372036854775808 and -1 overflow a 64-bit number");
    check_eval_error("${name:plus(1)}", WEIR_E_INVAL,
                     "position 8: plus: subject 'Report' is not a whole number");
    check_eval_error("${count:plus(${name})}", WEIR_E_INVAL,
                     "position 14: plus: argument 'Report' is not a whole number");
    check_eval_error("${count:plus(${missing})}", WEIR_E_INVAL,
                     "position 14: plus: argument is null, not a number");
}

static void test_expr_boolean_logic_and_ifelse(void **state)
{
    (void)state;
    check("${name:equals('Report'):not()}", "false");
    check("${name:isEmpty():not()}", "true");
    check("${flag:not()}", "false"); /* "TRUE" is true, ignoring case */
    check("${no:not()}", "true");
    check("${name:not()}", "true"); /* any other string is false */
    check("${name:equals('Report'):and(${count:gt(10)})}", "true");
    check("${name:equals('Report'):and(${count:gt(20)})}", "false");
    check("${name:equals('x'):or(${count:gt(10)})}", "true");
    check("${name:equals('x'):or(false)}", "false");
    check("${flag:and(true)}", "true");
    check("${empty:isEmpty():ifElse('a','b')}", "a");
    check("${name:isEmpty():ifElse('a','b')}", "b");
    check("${name:equals('Report'):ifElse(${name:toUpper()}, 'no')}", "REPORT");
    check("${count:gt(1):ifElse(1, 2):plus(1)}", "2");
}

static void test_expr_and_or_ifelse_evaluate_only_what_they_need(void **state)
{
    (void)state;
    /* the branches not taken would fail with division by zero */
    check("${name:equals('x'):and(${count:divide(0):gt(1)})}", "false");
    check("${name:equals('Report'):or(${count:divide(0):gt(1)})}", "true");
    check("${name:equals('Report'):ifElse('ok', ${count:divide(0)})}", "ok");
    check_eval_error("${name:equals('Report'):and(${count:divide(0):gt(1)})}", WEIR_E_INVAL,
                     "position 37: divide: division by zero");
}

static void test_expr_literal_function(void **state)
{
    (void)state;
    check("${literal('x')}", "x");
    check("${literal('a'):append('b')}", "ab");
    check("${literal(42):plus(1)}", "43");
    check("${literal(true):not()}", "false");
    check("${literal('it\\'s'):length()}", "4");
    check("${literal(\"a\\'b\\n\"):length()}", "4");
    check("${literal(#{abc})}", "xxx");
}

static void test_expr_nested_expressions(void **state)
{
    (void)state;
    check("${name:append(${ext:toUpper():prepend('.')})}", "Report.TXT");
    check("${name:append(${name:append(${name:append(${ext})})})}", "ReportReportReporttxt");
    check("${filename:substring(${filename:length():minus(3)}):equals(${ext})}", "true");
    /* nesting up to the limit compiles, one more does not */
    char text[WEIR_EXPR_DEPTH_MAX * 20 + 64];
    char deep[sizeof text + 32];
    size_t n = 0;
    for (int d = 0; d < WEIR_EXPR_DEPTH_MAX - 1; d++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "${name:append(");
    }
    n += (size_t)snprintf(text + n, sizeof text - n, "${ext}");
    for (int d = 0; d < WEIR_EXPR_DEPTH_MAX - 1; d++) {
        n += (size_t)snprintf(text + n, sizeof text - n, ")}");
    }
    struct weir_expr *ex;
    char why[128];
    assert_int_equal(weir_expr_compile(text, &ex, why, sizeof why), 0);
    weir_expr_free(ex);
    snprintf(deep, sizeof deep, "${name:append(%s)}", text);
    assert_int_equal(weir_expr_compile(deep, &ex, why, sizeof why), WEIR_E_INVAL);
    assert_null(ex);
    /* the innermost '${' is the one too deep */
    char want[64];
    snprintf(want, sizeof want, "position %d: expressions nested deeper than %d",
             1 + 14 * WEIR_EXPR_DEPTH_MAX, WEIR_EXPR_DEPTH_MAX);
    assert_string_equal(why, want);
}

/* ------------------------------------------------------------------------ */
/* Compile errors                                                           */

static void test_expr_unknown_function_names_position_and_suggestion(void **state)
{
    (void)state;
    check_compile_error("${filename:toUpperr()}",
                        "position 12: unknown function toUpperr (did you mean toUpper?)");
    check_compile_error("${filename:tolower()}",
                        "position 12: unknown function tolower (did you mean toLower?)");
    check_compile_error("ab ${x:frobnicate()}", "position 8: unknown function frobnicate");
    check_compile_error("${literl('a')}",
                        "position 3: unknown subjectless function literl (did you mean literal?)");
    check_compile_error("${toUpper()}",
                        "position 3: toUpper needs a subject (the only subjectless function is "
                        "literal)");
    check_compile_error("${x:literal('a')}",
                        "position 5: literal takes no subject; use it first: ${literal('x'):...}");
}

static void test_expr_argument_count_and_syntax_errors_name_positions(void **state)
{
    (void)state;
    check_compile_error("${filename:substring(1,2,3)}",
                        "position 12: substring takes 1 or 2 arguments, got 3");
    check_compile_error("${x:toUpper(1)}", "position 5: toUpper takes no arguments, got 1");
    check_compile_error("${x:append()}", "position 5: append takes 1 argument, got 0");
    check_compile_error("${x:replace('a')}", "position 5: replace takes 2 arguments, got 1");
    check_compile_error("abc${x", "position 7: missing '}' for the '${' at position 4");
    check_compile_error("${x:toUpper()", "position 14: missing '}' for the '${' at position 1");
    check_compile_error("${x:append('abc)}",
                        "position 12: unterminated string starting at position 12");
    check_compile_error("${x:toUpper}", "position 5: expected '(' after function name toUpper");
    check_compile_error("${x:append('a' 'b')}",
                        "position 16: expected ',' or ')' in the arguments of append, got '''");
    check_compile_error("${x:append('a'", "position 5: missing ')' after the arguments of append");
    check_compile_error("${literal('it''s')}", /* adjacent strings are not joined */
                        "position 15: expected ',' or ')' in the arguments of literal, got '''");
    check_compile_error("${x:}", "position 5: expected a function name after ':', got '}'");
    check_compile_error("${x y}", "position 5: expected ':' or '}', got 'y'");
    check_compile_error("${}", "position 1: empty expression ${}");
    check_compile_error("${ :x()}",
                        "position 4: expected an attribute name, a quoted name, #{param} or "
                        "literal(...), got ':'");
    check_compile_error("${''}", "position 3: empty attribute name");
    check_compile_error("${2x}",
                        "position 3: attribute name 2x starts with a digit; quote it: '2x'");
    check_compile_error("${x:append(foo)}",
                        "position 12: expected an argument (a quoted string, a number, true, "
                        "false, #{param} or ${...}), got 'f'");
    check_compile_error("${x:plus(1.5)}",
                        "position 10: decimal numbers are not supported (whole numbers only)");
    check_compile_error("${x:plus(99999999999999999999)}",
                        "position 10: number 99999999999999999999 is out of range");
}

static void test_expr_type_and_parameter_name_errors(void **state)
{
    (void)state;
    check_compile_error("${x:isEmpty():plus(1)}",
                        "position 15: plus needs a number subject, got a boolean");
    check_compile_error("${x:length():not()}",
                        "position 14: not needs a boolean subject, got a number");
    check_compile_error("${x:substring(true)}",
                        "position 15: substring: argument must be a number, got a boolean");
    check_compile_error("${x:substring('abc')}",
                        "position 15: substring: argument 'abc' is not a whole number");
    check_compile_error("${x:equals('a'):and(1)}",
                        "position 21: and: argument must be a boolean, got a number");
    check_compile_error("path=#{abc/data}",
                        "position 11: bad character '/' in parameter name 'abc/data' (letters, "
                        "digits, space, '_', '-', '.')");
    check_compile_error("#{}", "position 1: empty parameter name");
    check_compile_error("${#{abc}", "position 9: missing '}' for the '${' at position 1");
    check_compile_error("${#{abc:toUpper()}",
                        "position 8: bad character ':' in parameter name 'abc:toUpper()' "
                        "(letters, digits, space, '_', '-', '.')");
}

/* ------------------------------------------------------------------------ */
/* Result types, conditions, buffers                                        */

static void test_expr_result_type_and_conditions(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        enum weir_expr_type type;
        bool value;
    } cases[] = {
        {"${name:equals('Report')}", WEIR_EXPR_BOOLEAN, true},
        {"${name:equals('x')}", WEIR_EXPR_BOOLEAN, false},
        {"${ count:gt(3):and(${flag}) }", WEIR_EXPR_BOOLEAN, true},
        {"${name:length()}", WEIR_EXPR_NUMBER, false},
        {"${flag}", WEIR_EXPR_STRING, true}, /* "TRUE" renders as true */
        {"${no}", WEIR_EXPR_STRING, false},
        {"true", WEIR_EXPR_STRING, true},                       /* literal text "true" */
        {"${name:equals('Report')} ", WEIR_EXPR_STRING, false}, /* trailing space: text */
        {"${missing}", WEIR_EXPR_STRING, false},
    };
    struct weir_expr_env env = test_env();
    struct weir_expr_buf scratch;
    weir_expr_buf_init(&scratch);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct weir_expr *ex;
        char why[128];
        assert_int_equal(weir_expr_compile(cases[k].text, &ex, why, sizeof why), 0);
        assert_int_equal(weir_expr_result_type(ex), cases[k].type);
        bool b = !cases[k].value;
        assert_int_equal(weir_expr_eval_bool(ex, &env, &scratch, &b, why, sizeof why), 0);
        if (b != cases[k].value) {
            print_error("condition \"%s\"\n", cases[k].text);
        }
        assert_int_equal(b, cases[k].value);
        weir_expr_free(ex);
    }
    /* an evaluation error leaves the condition false */
    struct weir_expr *ex;
    char why[128];
    assert_int_equal(weir_expr_compile("${count:divide(0):gt(1)}", &ex, why, sizeof why), 0);
    bool b = true;
    assert_int_equal(weir_expr_eval_bool(ex, &env, &scratch, &b, why, sizeof why), WEIR_E_INVAL);
    assert_false(b);
    assert_string_equal(why, "position 9: divide: division by zero");
    weir_expr_free(ex);
    weir_expr_buf_free(&scratch);
}

static void test_expr_fixed_buffer_exact_fit_and_one_short(void **state)
{
    (void)state;
    struct weir_expr *ex;
    char why[128];
    struct weir_expr_env env = test_env();
    static const char *texts[] = {"${name:toUpper()}", "${name:append('.txt')}",
                                  "x-${count:plus(100)}", "#{abc}/${name}"};
    static const char *wants[] = {"REPORT", "Report.txt", "x-112", "xxx/Report"};
    for (size_t k = 0; k < 4; k++) {
        assert_int_equal(weir_expr_compile(texts[k], &ex, why, sizeof why), 0);
        size_t need = strlen(wants[k]) + 1;
        char dst[64];
        size_t len = 99;
        assert_int_equal(weir_expr_eval_to(ex, &env, dst, need, &len, why, sizeof why), 0);
        assert_string_equal(dst, wants[k]);
        assert_int_equal(len, need - 1);
        assert_int_equal(weir_expr_eval_to(ex, &env, dst, need - 1, &len, why, sizeof why),
                         WEIR_E_NOSPC);
        assert_int_equal(len, 0);
        assert_non_null(strstr(why, "output does not fit in"));
        weir_expr_free(ex);
    }
}

static void test_expr_eval_reuses_its_buffer_without_growing(void **state)
{
    (void)state;
    struct weir_expr *ex;
    char why[128];
    assert_int_equal(
        weir_expr_compile("${filename:toUpper():replace(' ', '_'):append(${ext:prepend('.')})}-"
                          "${count:plus(1)}-#{abc}",
                          &ex, why, sizeof why),
        0);
    struct weir_expr_env env = test_env();
    struct weir_expr_buf out;
    weir_expr_buf_init(&out);
    assert_int_equal(weir_expr_eval(ex, &env, &out, why, sizeof why), 0);
    assert_string_equal(out.data, "A_BRAND_NEW_FILENAME.TXT.txt-13-xxx");
    char *data = out.data;
    size_t cap = out.cap;
    for (int k = 0; k < 10000; k++) {
        assert_int_equal(weir_expr_eval(ex, &env, &out, why, sizeof why), 0);
    }
    assert_ptr_equal(out.data, data); /* never reallocated: no allocation per evaluation */
    assert_int_equal(out.cap, cap);
    assert_string_equal(out.data, "A_BRAND_NEW_FILENAME.TXT.txt-13-xxx");
    /* a long chain keeps scratch near the size of one value */
    weir_expr_free(ex);
    char chain[4096] = "${filename";
    for (int k = 0; k < 100; k++) {
        strcat(chain, ":toUpper():toLower()");
    }
    strcat(chain, "}");
    assert_int_equal(weir_expr_compile(chain, &ex, why, sizeof why), 0);
    assert_int_equal(weir_expr_eval(ex, &env, &out, why, sizeof why), 0);
    assert_string_equal(out.data, "a brand new filename.txt");
    assert_int_equal(out.cap, cap); /* 200 steps of 24 bytes did not pile up */
    weir_expr_free(ex);
    weir_expr_buf_free(&out);
    assert_null(out.data);
}

static void test_expr_growable_output_grows_for_long_values(void **state)
{
    (void)state;
    /* each replace turns every 'b' into "bab": "ab" doubles to 2^13 bytes */
    char text[1024] = "${literal('ab')";
    for (int k = 0; k < 12; k++) {
        strcat(text, ":replace('b', 'bab')");
    }
    strcat(text, "}");
    struct weir_expr *ex;
    char why[128];
    assert_int_equal(weir_expr_compile(text, &ex, why, sizeof why), 0);
    struct weir_expr_buf out;
    weir_expr_buf_init(&out);
    struct weir_expr_env env = test_env();
    assert_int_equal(weir_expr_eval(ex, &env, &out, why, sizeof why), 0);
    assert_int_equal(out.len, 8192);
    assert_true(out.cap > 8192);
    assert_int_equal(out.data[0], 'a');
    assert_int_equal(out.data[8191], 'b');
    assert_int_equal(out.data[8192], '\0');
    size_t bs = 0;
    for (size_t k = 0; k < out.len; k++) {
        bs += out.data[k] == 'b';
    }
    assert_int_equal(bs, 4096);
    weir_expr_buf_free(&out);
    weir_expr_free(ex);
}

/* ------------------------------------------------------------------------ */
/* Parameter contexts                                                       */

static struct weir_param_ctx *add_ctx(struct weir_params *p, const char *name)
{
    struct weir_param_ctx *c = NULL;
    char why[128];
    assert_int_equal(weir_params_add_ctx(p, name, &c, why, sizeof why), 0);
    assert_non_null(c);
    return c;
}

static void set_param(struct weir_param_ctx *c, const char *name, const char *value, bool sensitive)
{
    char why[128];
    assert_int_equal(weir_param_ctx_set(c, name, value, sensitive, NULL, why, sizeof why), 0);
}

static void inherit(struct weir_param_ctx *c, const char *a, const char *b)
{
    const char *names[2] = {a, b};
    char why[128];
    size_t n = a ? (b ? 2 : 1) : 0;
    assert_int_equal(weir_param_ctx_inherit(c, names, n, why, sizeof why), 0);
}

static const char *value_of(const struct weir_param_ctx *c, const char *name)
{
    return weir_param_ctx_lookup((void *)c, name);
}

static void test_params_own_parameters_shadow_inherited_ones(void **state)
{
    (void)state;
    struct weir_params *p = weir_params_new();
    struct weir_param_ctx *common = add_ctx(p, "common");
    struct weir_param_ctx *audio = add_ctx(p, "audio");
    set_param(common, "host", "common-host", false);
    set_param(common, "port", "9092", false);
    set_param(audio, "host", "audio-host", false);
    inherit(audio, "common", NULL);
    assert_string_equal(value_of(audio, "host"), "audio-host");
    assert_string_equal(value_of(audio, "port"), "9092");
    assert_string_equal(value_of(common, "host"), "common-host");
    assert_null(value_of(audio, "nope"));
    const struct weir_param_ctx *owner = NULL;
    const struct weir_param *prm = weir_param_ctx_find(audio, "port", &owner);
    assert_non_null(prm);
    assert_ptr_equal(owner, common);
    assert_string_equal(weir_param_name(prm), "port");
    assert_null(weir_param_ctx_find(audio, "nope", &owner));
    assert_null(owner);
    weir_params_free(p);
}

static void test_params_inheritance_order_is_list_order_depth_first(void **state)
{
    (void)state;
    /* top inherits [a, b]; a inherits [c]. x: a and b; y: c and b; z: only b. */
    struct weir_params *p = weir_params_new();
    struct weir_param_ctx *top = add_ctx(p, "top");
    struct weir_param_ctx *a = add_ctx(p, "a");
    struct weir_param_ctx *b = add_ctx(p, "b");
    struct weir_param_ctx *c = add_ctx(p, "c");
    set_param(a, "x", "from-a", false);
    set_param(b, "x", "from-b", false);
    set_param(c, "y", "from-c", false);
    set_param(b, "y", "from-b", false);
    set_param(b, "z", "from-b", false);
    inherit(a, "c", NULL);
    inherit(top, "a", "b");
    assert_string_equal(value_of(top, "x"), "from-a"); /* first in the list wins */
    assert_string_equal(value_of(top, "y"), "from-c"); /* depth first: a's parent before b */
    assert_string_equal(value_of(top, "z"), "from-b");
    inherit(top, "b", "a"); /* reversing the list reverses the winner */
    assert_string_equal(value_of(top, "x"), "from-b");
    assert_string_equal(value_of(top, "y"), "from-b");
    assert_int_equal(weir_param_ctx_inherited_count(top), 2);
    assert_ptr_equal(weir_param_ctx_inherited_at(top, 0), b);
    assert_ptr_equal(weir_param_ctx_inherited_at(top, 1), a);
    assert_null(weir_param_ctx_inherited_at(top, 2));
    /* a diamond is not a cycle */
    inherit(b, "c", NULL);
    char why[128];
    assert_int_equal(weir_params_check(p, why, sizeof why), 0);
    assert_string_equal(value_of(top, "y"), "from-b");
    weir_params_free(p);
}

static void check_cycle(struct weir_param_ctx *c, const char *parent, const char *want)
{
    const char *names[1] = {parent};
    char why[256] = "";
    size_t before = weir_param_ctx_inherited_count(c);
    assert_int_equal(weir_param_ctx_inherit(c, names, 1, why, sizeof why), WEIR_E_INVAL);
    assert_string_equal(why, want);
    assert_int_equal(weir_param_ctx_inherited_count(c), before); /* old list kept */
}

static void test_params_cycles_are_refused_and_named(void **state)
{
    (void)state;
    struct weir_params *p = weir_params_new();
    struct weir_param_ctx *audio = add_ctx(p, "audio");
    struct weir_param_ctx *common = add_ctx(p, "common");
    struct weir_param_ctx *base = add_ctx(p, "base");
    check_cycle(audio, "audio", "parameter contexts form a cycle: audio -> audio");
    inherit(audio, "common", NULL);
    check_cycle(common, "audio", "parameter contexts form a cycle: common -> audio -> common");
    inherit(common, "base", NULL);
    check_cycle(base, "audio", "parameter contexts form a cycle: base -> audio -> common -> base");
    /* a cycle behind a valid first entry is found too, and nothing changes */
    const char *two[2] = {"common", "audio"};
    struct weir_param_ctx *other = add_ctx(p, "other");
    inherit(base, "other", NULL);
    char why[256];
    assert_int_equal(weir_param_ctx_inherit(other, two, 2, why, sizeof why), WEIR_E_INVAL);
    assert_string_equal(why, "parameter contexts form a cycle: other -> common -> base -> other");
    assert_int_equal(weir_param_ctx_inherited_count(other), 0);
    assert_int_equal(weir_params_check(p, why, sizeof why), 0);
    weir_params_free(p);
}

static void test_params_inherit_rejects_unknown_and_repeated_names(void **state)
{
    (void)state;
    struct weir_params *p = weir_params_new();
    struct weir_param_ctx *audio = add_ctx(p, "audio");
    add_ctx(p, "common");
    char why[256];
    const char *unknown[1] = {"comon"};
    assert_int_equal(weir_param_ctx_inherit(audio, unknown, 1, why, sizeof why), WEIR_E_NOENT);
    assert_string_equal(why, "context 'audio' inherits 'comon', which does not exist");
    const char *twice[2] = {"common", "common"};
    assert_int_equal(weir_param_ctx_inherit(audio, twice, 2, why, sizeof why), WEIR_E_INVAL);
    assert_string_equal(why, "context 'audio' inherits 'common' twice");
    assert_int_equal(weir_params_add_ctx(p, "audio", NULL, why, sizeof why), WEIR_E_EXIST);
    assert_string_equal(why, "parameter context 'audio' already exists");
    assert_int_equal(weir_params_add_ctx(p, "", NULL, why, sizeof why), WEIR_E_INVAL);
    assert_int_equal(weir_params_ctx_count(p), 2);
    assert_ptr_equal(weir_params_find_ctx(p, "audio"), audio);
    assert_ptr_equal(weir_params_ctx_at(p, 0), audio);
    assert_string_equal(weir_param_ctx_name(weir_params_ctx_at(p, 1)), "common");
    assert_null(weir_params_find_ctx(p, "video"));
    weir_params_free(p);
}

static void test_params_sensitive_values_are_masked_for_display(void **state)
{
    (void)state;
    struct weir_params *p = weir_params_new();
    struct weir_param_ctx *c = add_ctx(p, "db");
    char why[256];
    assert_int_equal(
        weir_param_ctx_set(c, "password", "s3cr3t", true, "the db password", why, sizeof why), 0);
    set_param(c, "user", "alice", false);
    const struct weir_param *pw = weir_param_ctx_find(c, "password", NULL);
    const struct weir_param *user = weir_param_ctx_find(c, "user", NULL);
    assert_true(weir_param_sensitive(pw));
    assert_string_equal(weir_param_display(pw), "********");
    assert_string_equal(weir_param_value(pw), "s3cr3t");
    assert_string_equal(weir_param_description(pw), "the db password");
    assert_false(weir_param_sensitive(user));
    assert_string_equal(weir_param_display(user), "alice");
    assert_string_equal(weir_param_description(user), "");
    /* sensitivity is fixed, and the refusal does not print the value */
    assert_int_equal(weir_param_ctx_set(c, "password", "other", false, NULL, why, sizeof why),
                     WEIR_E_INVAL);
    assert_string_equal(why,
                        "parameter 'password' in context 'db' is sensitive; sensitivity cannot "
                        "change");
    assert_null(strstr(why, "s3cr3t"));
    assert_string_equal(weir_param_value(pw), "s3cr3t");
    /* substitution tells the caller the result is sensitive */
    struct weir_expr_buf out;
    weir_expr_buf_init(&out);
    bool sensitive = false;
    assert_int_equal(
        weir_params_substitute(c, "#{user}:#{password}", &out, &sensitive, why, sizeof why), 0);
    assert_string_equal(out.data, "alice:s3cr3t");
    assert_true(sensitive);
    assert_int_equal(weir_params_substitute(c, "#{user}", &out, &sensitive, why, sizeof why), 0);
    assert_false(sensitive);
    weir_expr_buf_free(&out);
    weir_params_free(p);
}

static void test_params_set_value_remove_and_names(void **state)
{
    (void)state;
    struct weir_params *p = weir_params_new();
    struct weir_param_ctx *common = add_ctx(p, "common");
    struct weir_param_ctx *audio = add_ctx(p, "audio");
    set_param(common, "rate", "44100", false);
    inherit(audio, "common", NULL);
    char why[256];
    /* an inherited parameter is changed where it is defined */
    assert_int_equal(weir_param_ctx_set_value(audio, "rate", "48000", why, sizeof why),
                     WEIR_E_NOENT);
    assert_string_equal(why, "context 'audio' defines no parameter 'rate'");
    assert_int_equal(weir_param_ctx_set_value(common, "rate", "48000", why, sizeof why), 0);
    assert_string_equal(value_of(audio, "rate"), "48000");
    assert_int_equal(weir_param_ctx_set(common, "bad/name", "v", false, NULL, why, sizeof why),
                     WEIR_E_INVAL);
    assert_string_equal(why, "bad parameter name 'bad/name' in context 'common': 1 to 256 bytes of "
                             "letters, digits, space, '_', '-', '.'");
    assert_true(weir_param_name_valid("My Param-1.x_y", 14));
    assert_false(weir_param_name_valid("a}", 2));
    assert_false(weir_param_name_valid("", 0));
    set_param(audio, "rate", "96000", false); /* shadows */
    assert_string_equal(value_of(audio, "rate"), "96000");
    assert_int_equal(weir_param_ctx_remove(audio, "rate"), 0); /* uncovers */
    assert_string_equal(value_of(audio, "rate"), "48000");
    assert_int_equal(weir_param_ctx_remove(audio, "rate"), WEIR_E_NOENT);
    weir_params_free(p);
}

static void test_params_change_is_visible_on_next_evaluation_and_in_versions(void **state)
{
    (void)state;
    /* media-pipelines: audio, image and video inherit common */
    struct weir_params *p = weir_params_new();
    struct weir_param_ctx *common = add_ctx(p, "common");
    struct weir_param_ctx *pipes[3] = {add_ctx(p, "audio"), add_ctx(p, "image"),
                                       add_ctx(p, "video")};
    struct weir_param_ctx *unrelated = add_ctx(p, "unrelated");
    set_param(common, "bucket", "media-v1", false);
    for (int k = 0; k < 3; k++) {
        inherit(pipes[k], "common", NULL);
    }
    struct weir_expr *ex;
    char why[256];
    assert_int_equal(
        weir_expr_compile("s3://#{bucket}/${filename:replace(' ', '-')}", &ex, why, sizeof why), 0);
    struct weir_expr_buf out;
    weir_expr_buf_init(&out);
    uint64_t versions[3];
    for (int k = 0; k < 3; k++) {
        struct weir_expr_env env = env_of(pipes[k], weir_param_ctx_lookup);
        assert_int_equal(weir_expr_eval(ex, &env, &out, why, sizeof why), 0);
        assert_string_equal(out.data, "s3://media-v1/a-brand-new-filename.txt");
        versions[k] = weir_param_ctx_version(pipes[k]);
    }
    uint64_t unrelated_version = weir_param_ctx_version(unrelated);
    uint64_t registry = weir_params_version(p);
    assert_int_equal(weir_param_ctx_set_value(common, "bucket", "media-v2", why, sizeof why), 0);
    assert_int_equal(weir_params_version(p), registry + 1);
    for (int k = 0; k < 3; k++) {
        struct weir_expr_env env = env_of(pipes[k], weir_param_ctx_lookup);
        assert_int_equal(weir_expr_eval(ex, &env, &out, why, sizeof why), 0);
        assert_string_equal(out.data, "s3://media-v2/a-brand-new-filename.txt");
        assert_true(weir_param_ctx_version(pipes[k]) > versions[k]);
    }
    assert_int_equal(weir_param_ctx_version(unrelated), unrelated_version);
    /* an inheritance change is a change too */
    uint64_t before = weir_param_ctx_version(pipes[0]);
    inherit(pipes[0], NULL, NULL);
    assert_true(weir_param_ctx_version(pipes[0]) > before);
    struct weir_expr_env env = env_of(pipes[0], weir_param_ctx_lookup);
    assert_int_equal(weir_expr_eval(ex, &env, &out, why, sizeof why), WEIR_E_NOENT);
    assert_string_equal(why, "position 6: no parameter 'bucket'");
    weir_expr_buf_free(&out);
    weir_expr_free(ex);
    weir_params_free(p);
}

static void test_params_substitute_applies_hash_escapes_then_compiles(void **state)
{
    (void)state;
    struct weir_params *p = weir_params_new();
    struct weir_param_ctx *c = add_ctx(p, "c");
    set_param(c, "abc", "xxx", false);
    set_param(c, "def", "yyy", false);
    set_param(c, "pattern", "${name:toUpper()}", false);
    static const char *in[] = {"#{abc}",   "#{abc}/#{def}", "#{abc",      "#abc",  "##{abc}",
                               "###{abc}", "####{abc}",     "#####{abc}", "plain", ""};
    static const char *want[] = {"xxx",  "xxx/yyy", "#{abc", "#abc",  "#{abc}",
                                 "#xxx", "##{abc}", "##xxx", "plain", ""};
    struct weir_expr_buf out;
    weir_expr_buf_init(&out);
    char why[256];
    for (size_t k = 0; k < sizeof in / sizeof in[0]; k++) {
        assert_int_equal(weir_params_substitute(c, in[k], &out, NULL, why, sizeof why), 0);
        assert_string_equal(out.data, want[k]);
    }
    /* NiFi's order: parameters first, then EL over the result */
    assert_int_equal(weir_params_substitute(c, "v=#{pattern}", &out, NULL, why, sizeof why), 0);
    struct weir_expr *ex;
    assert_int_equal(weir_expr_compile(out.data, &ex, why, sizeof why), 0);
    check_env(weir_expr_text(ex),
              &(struct weir_expr_env){.attr = attr_lookup, .attr_ctx = (void *)attrs}, "v=REPORT");
    weir_expr_free(ex);
    assert_int_equal(weir_params_substitute(c, "ab#{nope}", &out, NULL, why, sizeof why),
                     WEIR_E_NOENT);
    assert_string_equal(why, "position 3: no parameter 'nope' in context 'c'");
    assert_int_equal(out.len, 0);
    assert_int_equal(weir_params_substitute(c, "#{a/b}", &out, NULL, why, sizeof why),
                     WEIR_E_INVAL);
    assert_string_equal(why, "position 1: bad parameter name 'a/b'");
    /* a fixed output that is too small */
    char small[4];
    struct weir_expr_buf fixed;
    weir_expr_buf_init_fixed(&fixed, small, sizeof small);
    assert_int_equal(weir_params_substitute(c, "#{abc}!", &fixed, NULL, why, sizeof why),
                     WEIR_E_NOSPC);
    assert_int_equal(weir_params_substitute(c, "#{abc}", &fixed, NULL, why, sizeof why), 0);
    assert_string_equal(small, "xxx");
    weir_expr_buf_free(&out);
    weir_params_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expr_plain_text_is_a_literal_and_needs_no_lookups),
        cmocka_unit_test(test_expr_attribute_references_plain_quoted_and_missing),
        cmocka_unit_test(test_expr_dollar_escapes_follow_nifi_table),
        cmocka_unit_test(test_expr_parameter_references_and_hash_escapes),
        cmocka_unit_test(test_expr_parameter_inside_an_expression_as_subject_and_argument),
        cmocka_unit_test(test_expr_missing_parameter_is_noent_with_position),
        cmocka_unit_test(test_expr_case_and_trim_functions),
        cmocka_unit_test(test_expr_substring_follows_nifi_examples_and_edges),
        cmocka_unit_test(test_expr_append_prepend_and_replace),
        cmocka_unit_test(test_expr_null_and_empty_replacements_and_tostring),
        cmocka_unit_test(test_expr_length_and_tonumber),
        cmocka_unit_test(test_expr_string_predicates),
        cmocka_unit_test(test_expr_arithmetic_and_comparisons),
        cmocka_unit_test(test_expr_arithmetic_errors_name_the_function_position),
        cmocka_unit_test(test_expr_boolean_logic_and_ifelse),
        cmocka_unit_test(test_expr_and_or_ifelse_evaluate_only_what_they_need),
        cmocka_unit_test(test_expr_literal_function),
        cmocka_unit_test(test_expr_nested_expressions),
        cmocka_unit_test(test_expr_unknown_function_names_position_and_suggestion),
        cmocka_unit_test(test_expr_argument_count_and_syntax_errors_name_positions),
        cmocka_unit_test(test_expr_type_and_parameter_name_errors),
        cmocka_unit_test(test_expr_result_type_and_conditions),
        cmocka_unit_test(test_expr_fixed_buffer_exact_fit_and_one_short),
        cmocka_unit_test(test_expr_eval_reuses_its_buffer_without_growing),
        cmocka_unit_test(test_expr_growable_output_grows_for_long_values),
        cmocka_unit_test(test_params_own_parameters_shadow_inherited_ones),
        cmocka_unit_test(test_params_inheritance_order_is_list_order_depth_first),
        cmocka_unit_test(test_params_cycles_are_refused_and_named),
        cmocka_unit_test(test_params_inherit_rejects_unknown_and_repeated_names),
        cmocka_unit_test(test_params_sensitive_values_are_masked_for_display),
        cmocka_unit_test(test_params_set_value_remove_and_names),
        cmocka_unit_test(test_params_change_is_visible_on_next_evaluation_and_in_versions),
        cmocka_unit_test(test_params_substitute_applies_hash_escapes_then_compiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
