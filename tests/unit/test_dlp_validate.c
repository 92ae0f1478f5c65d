/* DLP validators: Luhn and issuer ranges, IBAN mod-97, SSN rules, the
 * GitHub token CRC-32, base64, JWT headers, placeholders, context words. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "dlp_validate.h"

#define S(lit) lit, sizeof(lit) - 1

static void test_luhn_and_cards(void **state)
{
	assert_true(dlp_luhn_ok(S("4111111111111111")));
	assert_false(dlp_luhn_ok(S("4111111111111112")));
	assert_true(dlp_luhn_ok(S("79927398713")));
	assert_false(dlp_luhn_ok(S("")));
	assert_false(dlp_luhn_ok(S("41111x1111111111")));
	/* Issuer and length, then Luhn. */
	assert_true(dlp_card_ok(S("4111111111111111")));   /* Visa 16 */
	assert_true(dlp_card_ok(S("4222222222222")));      /* Visa 13 */
	assert_true(dlp_card_ok(S("5555555555554444")));   /* Mastercard */
	assert_true(dlp_card_ok(S("2223003122003222")));   /* Mastercard 2-series */
	assert_true(dlp_card_ok(S("378282246310005")));    /* Amex 15 */
	assert_true(dlp_card_ok(S("6011111111111117")));   /* Discover */
	assert_true(dlp_card_ok(S("3530111333300000")));   /* JCB */
	assert_true(dlp_card_ok(S("30569309025904")));     /* Diners 14 */
	assert_false(dlp_card_ok(S("378282246310005000"))); /* Amex is 15 long */
	assert_false(dlp_card_ok(S("1234567890123452")));  /* no issuer starts with 1 */
	assert_false(dlp_card_ok(S("9780306406157")));     /* an ISBN passes Luhn-ish checks */
	assert_false(dlp_card_ok(S("411111111111")));      /* too short */
	assert_false(dlp_card_ok(S("41111111111111111111"))); /* too long */
	assert_false(dlp_card_ok(S("5555555555554445")));  /* Luhn */
}

static void test_iban(void **state)
{
	assert_true(dlp_iban_ok(S("DE89370400440532013000")));
	assert_true(dlp_iban_ok(S("GB82WEST12345698765432")));
	assert_true(dlp_iban_ok(S("gb82west12345698765432")));
	assert_true(dlp_iban_ok(S("FR1420041010050500013M02606")));
	assert_true(dlp_iban_ok(S("NO9386011117947")));        /* the shortest, 15 */
	assert_false(dlp_iban_ok(S("DE89370400440532013001"))); /* check digits */
	assert_false(dlp_iban_ok(S("DE8937040044053201300")));  /* DE is 22 long */
	assert_false(dlp_iban_ok(S("XX89370400440532013000"))); /* no such country */
	assert_false(dlp_iban_ok(S("DE893704004405320130!0")));
	assert_int_equal(dlp_iban_length('d', 'E'), 22);
	assert_int_equal(dlp_iban_length('Z', 'Z'), 0);
}

static void test_ssn(void **state)
{
	assert_true(dlp_ssn_ok("123456789"));
	assert_true(dlp_ssn_ok("536221234"));
	assert_false(dlp_ssn_ok("000123456")); /* area 000 */
	assert_false(dlp_ssn_ok("666123456")); /* area 666 */
	assert_false(dlp_ssn_ok("900123456")); /* 900-999: ITINs */
	assert_false(dlp_ssn_ok("123004567")); /* group 00 */
	assert_false(dlp_ssn_ok("123450000")); /* serial 0000 */
	assert_false(dlp_ssn_ok("078051120")); /* the Woolworth card */
	assert_false(dlp_ssn_ok("12345678x"));
}

static void test_crc32_and_github(void **state)
{
	assert_int_equal(dlp_crc32("123456789", 9), 0xCBF43926u);
	assert_int_equal(dlp_crc32("", 0), 0);
	/* Made as GitHub makes them: base62 (0-9A-Za-z) of the CRC-32 of the
	 * 30 random characters, zero padded to 6. */
	assert_true(dlp_github_checksum_ok(S("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")));
	assert_true(dlp_github_checksum_ok(S("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")));
	/* GitHub's documentation examples do not carry a valid checksum. */
	assert_false(dlp_github_checksum_ok(S("ghp_abcdefghijklmnopqrstuvwxyzABCD012345")));
	assert_false(dlp_github_checksum_ok(S("ghp_9XChaf688ZLcQSfgXwpbbYbwPNENDj3tSAms")));
	assert_false(dlp_github_checksum_ok(S("ghp_9XChaf688ZLcQSfgXwpbbYbwPNENDj3tSAm")));
	assert_false(dlp_github_checksum_ok(S("ghp-9XChaf688ZLcQSfgXwpbbYbwPNENDj3tSAmr")));
}

static void test_b64(void **state)
{
	uint8_t out[64];

	assert_int_equal(dlp_b64_decode(S("aGVsbG8="), out, sizeof(out)), 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(dlp_b64_decode(S("aGVsbG8"), out, sizeof(out)), 5); /* no padding */
	assert_int_equal(dlp_b64_decode(S("-_-_"), out, sizeof(out)), 3);    /* url alphabet */
	assert_int_equal(out[0], 0xFB);
	assert_int_equal(dlp_b64_decode(S("aGVsb"), out, sizeof(out)), -1);  /* 5 % 4 == 1 */
	assert_int_equal(dlp_b64_decode(S("aG!s"), out, sizeof(out)), -1);
	assert_int_equal(dlp_b64_decode(S("aGVsbG8="), out, 2), 2);          /* cut at cap */
}

static void test_jwt_header(void **state)
{
	/* {"alg":"HS256","typ":"JWT"} */
	assert_true(dlp_jwt_header_ok(S("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9")));
	/* {"alg":"none"} */
	assert_true(dlp_jwt_header_ok(S("eyJhbGciOiJub25lIn0")));
	/* { "typ" : "JWT", "alg" : "RS256" } with spaces */
	assert_true(dlp_jwt_header_ok(S("eyAidHlwIiA6ICJKV1QiLCAiYWxnIiA6ICJSUzI1NiIgfQ")));
	/* {"test":1}: no alg */
	assert_false(dlp_jwt_header_ok(S("eyJ0ZXN0IjoxfQ")));
	/* "alg" only as a value */
	assert_false(dlp_jwt_header_ok(S("eyJ4IjoiYWxnIn0")));
	assert_false(dlp_jwt_header_ok(S("eyJhbGciOi")));
	assert_false(dlp_jwt_header_ok(S("not base64 at all!")));
}

static void test_looks_random(void **state)
{
	assert_true(dlp_looks_random(S("vGwZ5HJ5lv6_ghMBWq0jytLVLx38gE9Ymugomsqp8Vnck")));
	assert_true(dlp_looks_random(S("N60LNTDW8J594VII")));
	assert_false(dlp_looks_random(S("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")));
	assert_false(dlp_looks_random(S("YOUR_API_KEY_GOES_HERE_PLEASE")));
	assert_false(dlp_looks_random(S("abcdefghijklmnopqrstuvwxyzABCDEF")));
	assert_false(dlp_looks_random(S("1234567890123456789012345")));
	assert_false(dlp_looks_random(S("a1b2a1b2a1b2a1b2a1b2a1b2a1b2")));  /* few distinct */
	assert_false(dlp_looks_random(S("Rb3dEf9hIjKl<redacted>Mn0pQr"))); /* a placeholder */
	assert_false(dlp_looks_random(S("short")));
	assert_false(dlp_looks_random(S("Ab3dEf9hIjKlMn0pQrStUvWxYz12345678")));
}

static void test_has_word(void **state)
{
	static const char *const words[] = { "ssn", "social security", NULL };

	assert_true(dlp_has_word(S("my SSN is"), words));
	assert_true(dlp_has_word(S("Social Security: "), words));
	assert_true(dlp_has_word(S("ssn"), words));
	assert_false(dlp_has_word(S("lessness"), words)); /* inside another word */
	assert_false(dlp_has_word(S("social secur"), words));
	assert_false(dlp_has_word(S(""), words));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_luhn_and_cards), cmocka_unit_test(test_iban),
		cmocka_unit_test(test_ssn),            cmocka_unit_test(test_crc32_and_github),
		cmocka_unit_test(test_b64),            cmocka_unit_test(test_jwt_header),
		cmocka_unit_test(test_looks_random),   cmocka_unit_test(test_has_word),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
