// SPDX-License-Identifier: GPL-2.0-or-later
// Normalising dialled numbers to E.164 and classifying them with the shipped tables.
#include <doctest/doctest.h>

#include "tests/fraud/fixture.h"

using namespace sipguard;
using namespace sipguard::fraud;
using namespace sipguard::fraud::test;

namespace {

struct Norm {
	NumberClass cls;
	std::string e164;
	std::string country;
};

Norm norm(const NumberingPlan& p, std::string_view dialled)
{
	Number n;
	p.normalise(dialled, n);
	return {n.number_class, std::string(n.e164()), n.country ? n.country->label : std::string()};
}

} // namespace

TEST_CASE("every prefix form of a UK plan reaches the same E.164 number")
{
	const NumberingPlan p = plan_of(uk_config());
	for (const char* dialled : {"02079460000", "+442079460000", "00442079460000", "902079460000", "9+442079460000",
	                            "900442079460000", "020 7946 0000", "(020) 7946-0000", "020.7946.0000",
	                            "020%207946%200000", "tel:+44-20-7946-0000", "sip:02079460000@pbx.example",
	                            "tel:020-7946-0000;phone-context=+44", "+44(0)20 7946 0000"}) {
		const std::string shown = dialled;
		CAPTURE(shown);
		const Norm n = norm(p, dialled);
		CHECK(n.e164 == "442079460000");
		CHECK(n.cls == NumberClass::National);
		CHECK(n.country == "GB");
	}
}

TEST_CASE("UK classes from the shipped table")
{
	const NumberingPlan p = plan_of(uk_config());
	CHECK(norm(p, "07700900123").cls == NumberClass::Mobile);
	CHECK(norm(p, "07010123456").cls == NumberClass::Special);  // 070 personal numbers
	CHECK(norm(p, "07624123456").cls == NumberClass::Mobile);   // Isle of Man mobile (longer prefix than 076)
	CHECK(norm(p, "07654123456").cls == NumberClass::Special);  // 076 pagers
	CHECK(norm(p, "09098790000").cls == NumberClass::Premium);
	CHECK(norm(p, "08712345678").cls == NumberClass::Special);
	CHECK(norm(p, "08451234567").cls == NumberClass::Special);
	CHECK(norm(p, "08001234567").cls == NumberClass::TollFree);
	CHECK(norm(p, "01632960000").cls == NumberClass::National);
	CHECK(norm(p, "03001234567").cls == NumberClass::National);
	const Norm dq = norm(p, "118118");
	CHECK(dq.cls == NumberClass::Special); // directory enquiries, dialled without a prefix
	CHECK(dq.e164 == "44118118");
	CHECK(norm(p, "9118118").cls == NumberClass::Special);
}

TEST_CASE("international numbers get their country from the E.164 table, NANP by area code")
{
	const NumberingPlan p = plan_of(uk_config());
	Norm fr = norm(p, "0033142685300");
	CHECK(fr.cls == NumberClass::International);
	CHECK(fr.country == "FR");
	Norm jm = norm(p, "0018765551234");
	CHECK(jm.cls == NumberClass::International);
	CHECK(jm.country == "JM");
	CHECK(norm(p, "+12125551234").country == "US");
	CHECK(norm(p, "+18095551234").country == "DO");
	CHECK(norm(p, "+12845551234").country == "VG");
	CHECK(norm(p, "+14735551234").country == "GD");
	CHECK(norm(p, "+16495551234").country == "TC");
	CHECK(norm(p, "+16645551234").country == "MS");
	CHECK(norm(p, "+17675551234").country == "DM");
	CHECK(norm(p, "+12685551234").country == "AG");
	CHECK(norm(p, "+79161234567").country == "RU");
	CHECK(norm(p, "+77011234567").country == "KZ");
	// Premium abroad is premium, not only international.
	CHECK(norm(p, "0019005551234").cls == NumberClass::Premium);
	CHECK(norm(p, "+97912345678").cls == NumberClass::Premium);
}

TEST_CASE("satellite and international networks")
{
	const NumberingPlan p = plan_of(uk_config());
	for (const char* d : {"+881612345678", "00882161234567", "+883140123456", "+870771234567"}) {
		CAPTURE(d);
		CHECK(norm(p, d).cls == NumberClass::Satellite);
	}
}

TEST_CASE("NANP plan: 1+ national, 011 international, 8xx toll-free, 900/976 premium")
{
	const NumberingPlan p = plan_of(nanp_config());
	CHECK(norm(p, "12125551234").e164 == "12125551234");
	CHECK(norm(p, "12125551234").cls == NumberClass::National);
	CHECK(norm(p, "2125551234").e164 == "12125551234"); // ten digits without the 1
	CHECK(norm(p, "18005551234").cls == NumberClass::TollFree);
	CHECK(norm(p, "18885551234").cls == NumberClass::TollFree);
	CHECK(norm(p, "19005551234").cls == NumberClass::Premium);
	CHECK(norm(p, "19765551234").cls == NumberClass::Premium);
	const Norm uk = norm(p, "011442079460000");
	CHECK(uk.e164 == "442079460000");
	CHECK(uk.cls == NumberClass::International);
	// The Caribbean shares +1 but is another country.
	CHECK(norm(p, "18765551234").cls == NumberClass::International);
	CHECK(norm(p, "18765551234").country == "JM");
}

TEST_CASE("emergency numbers, also behind the dial-out prefix, and configured ones")
{
	Config c = uk_config();
	c.emergency = {"101"};
	const NumberingPlan p = plan_of(c);
	for (const char* d : {"999", "112", "911", "9999", "9112", "101", "tel:999", "sip:112@pbx"}) {
		CAPTURE(d);
		CHECK(norm(p, d).cls == NumberClass::Emergency);
	}
	CHECK(norm(p, "+44999").cls != NumberClass::Emergency);
}

TEST_CASE("internal extensions and feature codes")
{
	const NumberingPlan p = plan_of(uk_config());
	CHECK(norm(p, "201").cls == NumberClass::Internal);
	CHECK(norm(p, "20145").cls == NumberClass::Internal);
	CHECK(norm(p, "*72201").cls == NumberClass::Internal);
	CHECK(norm(p, "#31#").cls == NumberClass::Internal);
	// Six digits are not an extension with internal_max_digits = 5.
	CHECK(norm(p, "201456").cls != NumberClass::Internal);
}

TEST_CASE("overlong, non-digit and empty input is unparsable")
{
	const NumberingPlan p = plan_of(uk_config());
	for (std::string d : {std::string("alice"), std::string("+4420794600001234"), std::string(200, '1'),
	                      std::string(""), std::string("tel:"), std::string("0207x946"), std::string("+"),
	                      std::string("+44"), std::string("%zz12"), std::string("+*72"), std::string("0044"),
	                      std::string("sip:00599@pbx")}) {
		CAPTURE(d);
		Number n;
		p.normalise(d, n);
		CHECK(n.number_class == NumberClass::Unparsable);
		CHECK(!n.why.empty());
		CHECK(n.e164().empty()); // found by fuzz-number: "00599" is the country code of Curacao alone
		CHECK(n.country == nullptr);
	}
}

TEST_CASE("a number table with an error names the file and line")
{
	NumberTables t;
	util::Status st = t.add_text("# ok\n44 country GB\n447 mobile\n44x national\n", "uk-test.txt");
	REQUIRE(!st);
	CHECK(st.message == "uk-test.txt:4: expected an E.164 prefix of digits, got \"44x\"");
	NumberTables t2;
	st = t2.add_text("44 country GB\n\n447 mobyle\n", "t2.txt");
	CHECK(st.message.rfind("t2.txt:3: unknown class \"mobyle\"", 0) == 0);
	NumberTables t3;
	st = t3.add_text("44 country\n", "t3.txt");
	CHECK(st.message.rfind("t3.txt:1: a country needs a label", 0) == 0);
	auto missing = NumberTables::load(std::vector<std::string>{"/nonexistent/fraud.txt"});
	CHECK(!missing);
}

TEST_CASE("the plan rejects a country code the tables do not know")
{
	Config c = uk_config();
	c.country_code = "999";
	std::vector<std::string> paths{data_dir() + "/countries.txt"};
	auto tables = NumberTables::load(paths);
	REQUIRE(tables);
	auto plan = NumberingPlan::create(c, *tables);
	REQUIRE(!plan);
	CHECK(plan.error().find("fraud.country_code") != std::string::npos);
}
