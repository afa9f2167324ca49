#include "flow/transforms.h"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/json_exact.h"

namespace fxconnect::flow {
namespace {

namespace json = boost::json;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

json::value num(std::string_view literal) {
  auto v = core::parse_exact(literal);
  EXPECT_TRUE(v.ok()) << literal;
  return v.ok() ? v.value() : json::value();
}

DateTransform make(std::string_view in, std::string_view out, std::string_view zone = "",
                   std::string_view out_zone = "") {
  auto t = DateTransform::make(in, out, zone, out_zone);
  if (!t.ok()) {
    ADD_FAILURE() << "make(" << in << ", " << out << "): " << t.error().message;
    return DateTransform::make("iso", "iso").value();
  }
  return std::move(t).value();
}

std::string make_error(std::string_view in, std::string_view out, std::string_view zone = "",
                       std::string_view out_zone = "") {
  auto t = DateTransform::make(in, out, zone, out_zone);
  if (t.ok()) {
    ADD_FAILURE() << "make(" << in << ", " << out << ", " << zone << ", " << out_zone << ") succeeded";
    return "";
  }
  EXPECT_EQ(t.error().code, ErrorCode::invalid_request);
  EXPECT_FALSE(t.error().field.has_value());
  return t.error().message;
}

// The string result, or "ERROR: message".
std::string run(const DateTransform& t, const json::value& v) {
  auto r = t.apply(v);
  if (!r.ok()) return "ERROR: " + r.error().message;
  if (r.value().is_string()) return std::string(r.value().get_string());
  return "NOT A STRING: " + core::serialize(r.value());
}
std::string run(const DateTransform& t, const char* s) { return run(t, json::value(s)); }

// The error message of a failed result (and checks it is an invalid_request without a field).
template <class T>
std::string error_of(const Result<T>& r) {
  if (r.ok()) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  EXPECT_EQ(r.error().code, ErrorCode::invalid_request);
  EXPECT_FALSE(r.error().retriable);
  EXPECT_FALSE(r.error().field.has_value());
  return r.error().message;
}

// --------------------------------------------------------------------------------------------
// DateFormat

TEST(DateFormatTest, ParsesTheSupportedLetters) {
  auto f = DateFormat::parse("yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->pattern(), "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
  EXPECT_TRUE(f->has_time());
  EXPECT_TRUE(f->has_offset());
  for (auto p : {"dd/MM/yyyy", "yyyyMMdd", "HH:mm", "yyyy-MM-dd HH:mm:ss XX", "yyyyMMddHHmmssZ", "yyyy xxx", "yyyy xx",
                 "dd.MM.yyyy 'um' HH 'Uhr'", "'it''s' yyyy"}) {
    EXPECT_TRUE(DateFormat::parse(p).ok()) << p;
  }
}

TEST(DateFormatTest, TimeAndOffsetFlags) {
  auto date_only = DateFormat::parse("dd/MM/yyyy").value();
  EXPECT_FALSE(date_only.has_time());
  EXPECT_FALSE(date_only.has_offset());
  auto local = DateFormat::parse("dd/MM/yyyy HH:mm").value();
  EXPECT_TRUE(local.has_time());
  EXPECT_FALSE(local.has_offset());
  // Letters inside quotes are literals, not fields.
  auto quoted = DateFormat::parse("yyyy 'HH mm XXX'").value();
  EXPECT_FALSE(quoted.has_time());
  EXPECT_FALSE(quoted.has_offset());
  EXPECT_TRUE(DateFormat::parse("iso").value().has_time());
  EXPECT_TRUE(DateFormat::parse("iso").value().has_offset());
  EXPECT_TRUE(DateFormat::parse("epoch_ms").value().has_time());
}

TEST(DateFormatTest, RefusesTwoDigitYears) {
  auto msg = error_of(DateFormat::parse("dd/MM/yy"));
  EXPECT_THAT(msg, HasSubstr("'dd/MM/yy'"));
  EXPECT_THAT(msg, HasSubstr("two-digit year"));
  EXPECT_THAT(msg, HasSubstr("write yyyy"));
  EXPECT_THAT(msg, HasSubstr("character 7"));
  EXPECT_THAT(msg, HasSubstr("yyyy MM dd HH mm ss SSS"));  // the letters allowed
  EXPECT_THAT(msg, HasSubstr("XXX"));
  EXPECT_THAT(error_of(DateFormat::parse("y-MM-dd")), HasSubstr("write yyyy"));
  EXPECT_THAT(error_of(DateFormat::parse("yyyyy-MM-dd")), HasSubstr("write yyyy"));
  EXPECT_THAT(error_of(DateFormat::parse("YYYY-MM-dd")), HasSubstr("week-based year"));
}

TEST(DateFormatTest, RefusesOtherLettersAndCounts) {
  EXPECT_THAT(error_of(DateFormat::parse("dd/M/yyyy")), AllOf(HasSubstr("'M'"), HasSubstr("write MM")));
  EXPECT_THAT(error_of(DateFormat::parse("dd MMM yyyy")), HasSubstr("month name"));
  EXPECT_THAT(error_of(DateFormat::parse("d/MM/yyyy")), HasSubstr("write dd"));
  EXPECT_THAT(error_of(DateFormat::parse("DD/MM/yyyy")), HasSubstr("day of the year"));
  EXPECT_THAT(error_of(DateFormat::parse("yyyy hh:mm a")), HasSubstr("write HH"));
  EXPECT_THAT(error_of(DateFormat::parse("HH:mm:ss.SS")), HasSubstr("write SSS"));
  EXPECT_THAT(error_of(DateFormat::parse("HH:mm X")), HasSubstr("write XXX"));
  EXPECT_THAT(error_of(DateFormat::parse("HH:mm ZZZZ")), HasSubstr("write XXX"));
  auto unknown = error_of(DateFormat::parse("yyyy-MM-dd q"));
  EXPECT_THAT(unknown, HasSubstr("'q' is not a supported letter"));
  EXPECT_THAT(unknown, HasSubstr("character 12"));
  EXPECT_THAT(unknown, HasSubstr("yyyy MM dd HH mm ss SSS"));
  // An unquoted T: the usual slip, with the fix in the message.
  EXPECT_THAT(error_of(DateFormat::parse("yyyy-MM-ddTHH:mm")), HasSubstr("yyyy-MM-dd'T'HH:mm:ss"));
}

TEST(DateFormatTest, RefusesAnUnclosedQuoteAndAnEmptyPattern) {
  EXPECT_THAT(error_of(DateFormat::parse("yyyy 'at HH")), HasSubstr("quote at character 6 is not closed"));
  EXPECT_THAT(error_of(DateFormat::parse("")), HasSubstr("empty"));
}

// --------------------------------------------------------------------------------------------
// DateTransform::make

TEST(DateTransformMakeTest, NamesTheBadPart) {
  EXPECT_EQ(make_error("dd/MM/yyyy", "iso", "Europe/Nowhere"),
            "zone 'Europe/Nowhere' is not an IANA time zone (such as Europe/Bucharest)");
  EXPECT_THAT(make_error("dd/MM/yyyy", "iso", "Europe/Bucharest", "Mars/Olympus"),
              StartsWith("out_zone 'Mars/Olympus' is not an IANA time zone"));
  EXPECT_THAT(make_error("dd/MM/yy", "iso"), StartsWith("in format 'dd/MM/yy': "));
  EXPECT_THAT(make_error("iso", "yyyy-MM-dd hh"), StartsWith("out format 'yyyy-MM-dd hh': "));
  EXPECT_THAT(make_error("iso", "iso", "+02:00"), HasSubstr("zone '+02:00'"));
}

TEST(DateTransformMakeTest, InputPatternsMustGiveAWholeDate) {
  EXPECT_THAT(make_error("MM/yyyy", "iso"), HasSubstr("a date needs yyyy, MM and dd"));
  EXPECT_THAT(make_error("HH:mm", "iso"), HasSubstr("a date needs yyyy, MM and dd"));
  EXPECT_THAT(make_error("dd/MM/yyyy mm", "iso"), HasSubstr("larger fields"));
  EXPECT_THAT(make_error("dd/MM/yyyy HH:ss", "iso"), HasSubstr("larger fields"));
  EXPECT_THAT(make_error("dd/MM/yyyy dd", "iso"), HasSubstr("dd appears twice"));
  EXPECT_THAT(make_error("dd/MM/yyyy XXX", "iso"), HasSubstr("an offset needs a time"));
  // Output patterns may show any part.
  EXPECT_TRUE(DateTransform::make("iso", "yyyy").ok());
  EXPECT_TRUE(DateTransform::make("iso", "HH:mm").ok());
}

TEST(DateTransformMakeTest, ZonesAreIanaNames) {
  EXPECT_TRUE(DateTransform::make("iso", "iso", "UTC").ok());
  EXPECT_TRUE(DateTransform::make("iso", "iso", "Etc/UTC").ok());
  EXPECT_TRUE(DateTransform::make("iso", "iso", "America/New_York", "Asia/Tokyo").ok());
}

// --------------------------------------------------------------------------------------------
// Reformatting and the calendar check

TEST(DateTransformTest, ReformatsADate) {
  auto t = make("dd/MM/yyyy", "yyyy-MM-dd");
  EXPECT_EQ(run(t, "15/02/1990"), "1990-02-15");
  EXPECT_EQ(run(t, "01/01/0001"), "0001-01-01");
  EXPECT_EQ(run(t, "31/12/9999"), "9999-12-31");
  EXPECT_EQ(run(make("yyyyMMdd", "dd.MM.yyyy"), "20260301"), "01.03.2026");
  EXPECT_EQ(run(make("dd/MM/yyyy", "yyyy'-'MM'-'dd' ('dd')'"), "15/02/1990"), "1990-02-15 (15)");
  EXPECT_EQ(run(make("'on' dd/MM/yyyy", "'it''s' yyyy"), "on 15/02/1990"), "it's 1990");
}

TEST(DateTransformTest, LeapYears) {
  auto t = make("dd/MM/yyyy", "yyyy-MM-dd");
  EXPECT_EQ(run(t, "29/02/2024"), "2024-02-29");
  EXPECT_EQ(run(t, "29/02/2000"), "2000-02-29");
  EXPECT_EQ(run(t, "29/02/2023"),
            "ERROR: '29/02/2023' is not a calendar date in dd/MM/yyyy (February 2023 has 28 days)");
  EXPECT_EQ(run(t, "29/02/1900"),
            "ERROR: '29/02/1900' is not a calendar date in dd/MM/yyyy (February 1900 has 28 days)");
  EXPECT_EQ(run(t, "30/02/2024"),
            "ERROR: '30/02/2024' is not a calendar date in dd/MM/yyyy (February 2024 has 29 days)");
}

TEST(DateTransformTest, TheCalendarCheck) {
  auto t = make("dd/MM/yyyy", "yyyy-MM-dd");
  EXPECT_EQ(run(t, "31/02/1990"),
            "ERROR: '31/02/1990' is not a calendar date in dd/MM/yyyy (February 1990 has 28 days)");
  EXPECT_EQ(run(t, "31/04/2026"), "ERROR: '31/04/2026' is not a calendar date in dd/MM/yyyy (April 2026 has 30 days)");
  EXPECT_EQ(run(t, "30/04/2026"), "2026-04-30");
  EXPECT_EQ(run(t, "31/12/2026"), "2026-12-31");
  EXPECT_EQ(run(t, "01/13/2026"),
            "ERROR: '01/13/2026' is not a calendar date in dd/MM/yyyy (month 13; months are 01 to 12)");
  EXPECT_EQ(run(t, "01/00/2026"),
            "ERROR: '01/00/2026' is not a calendar date in dd/MM/yyyy (month 00; months are 01 to 12)");
  EXPECT_EQ(run(t, "00/01/2026"),
            "ERROR: '00/01/2026' is not a calendar date in dd/MM/yyyy (day 00; days start at 01)");
}

TEST(DateTransformTest, TheClockCheck) {
  auto t = make("yyyy-MM-dd HH:mm:ss", "iso");
  EXPECT_EQ(run(t, "2026-03-01 23:59:59"), "2026-03-01T23:59:59Z");
  EXPECT_EQ(run(t, "2026-03-01 24:00:00"),
            "ERROR: '2026-03-01 24:00:00' is not a valid time in yyyy-MM-dd HH:mm:ss (hour 24; hours are 00 to 23)");
  EXPECT_THAT(run(t, "2026-03-01 12:60:00"), HasSubstr("(minute 60; minutes are 00 to 59)"));
  EXPECT_THAT(run(t, "2026-03-01 12:00:60"), HasSubstr("(second 60; seconds are 00 to 59)"));
}

TEST(DateTransformTest, TheShapeMustMatchExactly) {
  auto t = make("dd/MM/yyyy", "yyyy-MM-dd");
  EXPECT_EQ(run(t, "1/2/1990"),
            "ERROR: '1/2/1990' does not match dd/MM/yyyy (dd needs 2 digits, found '1/' at character 1)");
  EXPECT_EQ(run(t, "01/2/1990"),
            "ERROR: '01/2/1990' does not match dd/MM/yyyy (MM needs 2 digits, found '2/' at character 4)");
  EXPECT_EQ(run(t, "01/02/90"),
            "ERROR: '01/02/90' does not match dd/MM/yyyy (yyyy needs 4 digits, found '90' at character 7)");
  EXPECT_EQ(run(t, "01-02-1990"),
            "ERROR: '01-02-1990' does not match dd/MM/yyyy (expected '/' at character 3, found '-')");
  EXPECT_EQ(run(t, "01/02/1990 "), "ERROR: '01/02/1990 ' does not match dd/MM/yyyy (unexpected ' ' at character 11)");
  EXPECT_EQ(run(t, "01/02/19901"), "ERROR: '01/02/19901' does not match dd/MM/yyyy (unexpected '1' at character 11)");
  EXPECT_EQ(run(t, "01/02"), "ERROR: '01/02' does not match dd/MM/yyyy (the text ends where '/' should be)");
  EXPECT_EQ(run(t, "01/02/"), "ERROR: '01/02/' does not match dd/MM/yyyy (the text ends where yyyy should be)");
  EXPECT_THAT(run(t, ""), HasSubstr("the text ends where dd should be"));
  EXPECT_THAT(run(t, " 01/02/1990"), HasSubstr("dd needs 2 digits"));
  EXPECT_THAT(run(t, "+1/02/1990"), HasSubstr("dd needs 2 digits"));
  EXPECT_THAT(run(make("'on' dd/MM/yyyy", "iso"), "at 01/02/1990"),
              HasSubstr("expected 'on ' at character 1, found 'at '"));
}

TEST(DateTransformTest, RefusesValuesThatAreNotStrings) {
  auto t = make("dd/MM/yyyy", "yyyy-MM-dd");
  EXPECT_EQ(run(t, json::value(19900215)), "ERROR: expected a string, got a number");
  EXPECT_EQ(run(t, num("123456789012345678901234567890")), "ERROR: expected a string, got a number");
  EXPECT_EQ(run(t, json::value(nullptr)), "ERROR: expected a string, got null");
  EXPECT_EQ(run(t, json::value(true)), "ERROR: expected a string, got a boolean");
  EXPECT_EQ(run(t, json::value(json::array{})), "ERROR: expected a string, got an array");
  EXPECT_EQ(run(t, json::value(json::object{})), "ERROR: expected a string, got an object");
  EXPECT_EQ(run(make("iso", "iso"), json::value(1.5)), "ERROR: expected a string, got a number");
}

// --------------------------------------------------------------------------------------------
// Times and zones

TEST(DateTransformTest, MillisecondsAndSeconds) {
  auto t = make("yyyy-MM-dd HH:mm:ss.SSS", "dd/MM/yyyy HH:mm:ss.SSS");
  EXPECT_EQ(run(t, "2026-03-01 09:05:07.042"), "01/03/2026 09:05:07.042");
  EXPECT_EQ(run(make("yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss.SSS"), "2026-03-01 09:05"), "2026-03-01 09:05:00.000");
  EXPECT_EQ(run(make("yyyy-MM-dd HH:mm:ss", "HH'h'mm"), "2026-03-01 09:05:07"), "09h05");
}

TEST(DateTransformTest, ConvertsBetweenZones) {
  // Summer: Bucharest is +03:00; winter: +02:00.
  auto t = make("dd/MM/yyyy HH:mm", "yyyy-MM-dd'T'HH:mm:ssXXX", "Europe/Bucharest", "UTC");
  EXPECT_EQ(run(t, "15/07/2026 12:00"), "2026-07-15T09:00:00Z");
  EXPECT_EQ(run(t, "15/01/2026 12:00"), "2026-01-15T10:00:00Z");
  EXPECT_EQ(run(t, "01/01/2026 01:30"), "2025-12-31T23:30:00Z");  // the day changes too
  // out_zone defaults to zone: the output carries the zone's offset.
  auto local = make("dd/MM/yyyy HH:mm", "yyyy-MM-dd'T'HH:mm:ssXXX", "Europe/Bucharest");
  EXPECT_EQ(run(local, "15/07/2026 12:00"), "2026-07-15T12:00:00+03:00");
  EXPECT_EQ(run(local, "15/01/2026 12:00"), "2026-01-15T12:00:00+02:00");
  // And the other way round, across the date line.
  auto tokyo = make("iso", "yyyy-MM-dd HH:mm xxx", "UTC", "Asia/Tokyo");
  EXPECT_EQ(run(tokyo, "2026-03-01T20:00:00Z"), "2026-03-02 05:00 +09:00");
  auto ny = make("iso", "iso", "UTC", "America/New_York");
  EXPECT_EQ(run(ny, "2026-03-01T12:00:00Z"), "2026-03-01T07:00:00-05:00");
  // Zones with half hours.
  EXPECT_EQ(run(make("iso", "iso", "UTC", "Asia/Kolkata"), "2026-03-01T12:00:00Z"), "2026-03-01T17:30:00+05:30");
}

TEST(DateTransformTest, WritesOffsetsInEachStyle) {
  auto in = "yyyy-MM-dd HH:mm";
  EXPECT_EQ(run(make(in, "XXX", "Europe/Bucharest"), "2026-07-15 12:00"), "+03:00");
  EXPECT_EQ(run(make(in, "XX", "Europe/Bucharest"), "2026-07-15 12:00"), "+0300");
  EXPECT_EQ(run(make(in, "xxx", "Europe/Bucharest"), "2026-07-15 12:00"), "+03:00");
  EXPECT_EQ(run(make(in, "Z", "Europe/Bucharest"), "2026-07-15 12:00"), "+0300");
  EXPECT_EQ(run(make(in, "XXX", "America/Sao_Paulo"), "2026-07-15 12:00"), "-03:00");
  // UTC: X styles write Z, x and Z styles write zeros.
  EXPECT_EQ(run(make(in, "XXX"), "2026-07-15 12:00"), "Z");
  EXPECT_EQ(run(make(in, "XX"), "2026-07-15 12:00"), "Z");
  EXPECT_EQ(run(make(in, "xxx"), "2026-07-15 12:00"), "+00:00");
  EXPECT_EQ(run(make(in, "xx"), "2026-07-15 12:00"), "+0000");
  EXPECT_EQ(run(make(in, "Z"), "2026-07-15 12:00"), "+0000");
}

TEST(DateTransformTest, ReadsOffsetsInEachStyle) {
  auto t = make("yyyy-MM-dd HH:mmXXX", "yyyy-MM-dd HH:mm", "Europe/Bucharest", "UTC");
  EXPECT_EQ(run(t, "2026-07-15 12:00Z"), "2026-07-15 12:00");
  EXPECT_EQ(run(t, "2026-07-15 12:00+02:00"), "2026-07-15 10:00");
  EXPECT_EQ(run(t, "2026-07-15 12:00+0200"), "2026-07-15 10:00");
  EXPECT_EQ(run(t, "2026-07-15 12:00-05:30"), "2026-07-15 17:30");
  EXPECT_THAT(run(t, "2026-07-15 12:00"), HasSubstr("the text ends where XXX should be"));
  EXPECT_THAT(run(t, "2026-07-15 12:00+2"),
              HasSubstr("expected an offset such as Z, +02:00 or +0200 at character 17, found '+2'"));
  EXPECT_THAT(run(t, "2026-07-15 12:00+25:00"), HasSubstr("expected an offset"));
  EXPECT_THAT(run(t, "2026-07-15 12:00+02:00x"), HasSubstr("unexpected 'x'"));
  // The offset given wins over the zone.
  auto z = make("yyyy-MM-dd HH:mm Z", "iso", "Asia/Tokyo", "UTC");
  EXPECT_EQ(run(z, "2026-07-15 12:00 +0100"), "2026-07-15T11:00:00Z");
}

TEST(DateTransformTest, RefusesALocalTimeInASpringForwardGap) {
  // Bucharest moves from 03:00 to 04:00 on the last Sunday of March (01:00 UTC, as all the EU).
  auto t = make("yyyy-MM-dd HH:mm", "iso", "Europe/Bucharest", "UTC");
  EXPECT_EQ(run(t, "2026-03-29 03:30"),
            "ERROR: '2026-03-29 03:30' does not exist in Europe/Bucharest: on 2026-03-29 the clocks went from 03:00 to "
            "04:00");
  EXPECT_EQ(run(t, "2026-03-29 02:30"), "2026-03-29T00:30:00Z");
  EXPECT_EQ(run(t, "2026-03-29 04:00"), "2026-03-29T01:00:00Z");
  // Berlin moves from 02:00 to 03:00.
  auto berlin = make("yyyy-MM-dd HH:mm", "iso", "Europe/Berlin");
  EXPECT_EQ(run(berlin, "2026-03-29 02:30"),
            "ERROR: '2026-03-29 02:30' does not exist in Europe/Berlin: on 2026-03-29 the clocks went from 02:00 to "
            "03:00");
  EXPECT_EQ(run(berlin, "2026-03-29 03:00"), "2026-03-29T03:00:00+02:00");
  // A local time with an explicit offset is an instant: no gap applies.
  EXPECT_EQ(run(make("iso", "iso", "Europe/Berlin", "UTC"), "2026-03-29T02:30:00+01:00"), "2026-03-29T01:30:00Z");
}

TEST(DateTransformTest, AFallBackTimeTakesTheEarlierOffset) {
  // Bucharest goes back from 04:00 EEST (+03:00) to 03:00 EET (+02:00): 03:30 happens twice.
  auto t = make("yyyy-MM-dd HH:mm", "iso", "Europe/Bucharest", "UTC");
  EXPECT_EQ(run(t, "2026-10-25 03:30"), "2026-10-25T00:30:00Z");
  EXPECT_EQ(run(t, "2026-10-25 04:30"), "2026-10-25T02:30:00Z");
  auto same = make("yyyy-MM-dd HH:mm", "iso", "Europe/Bucharest");
  EXPECT_EQ(run(same, "2026-10-25 03:30"), "2026-10-25T03:30:00+03:00");
}

TEST(DateTransformTest, ADateAloneIsNotMovedToAnotherDay) {
  // A calendar date written as a calendar date keeps its day, whatever the zones.
  EXPECT_EQ(run(make("dd/MM/yyyy", "yyyy-MM-dd", "Europe/Bucharest", "UTC"), "15/02/1990"), "1990-02-15");
  EXPECT_EQ(run(make("dd/MM/yyyy", "yyyy-MM-dd", "Pacific/Kiritimati", "Pacific/Pago_Pago"), "15/02/1990"),
            "1990-02-15");
  EXPECT_EQ(run(make("dd/MM/yyyy", "iso", "Europe/Bucharest", "UTC"), "15/02/1990"), "1990-02-15");
  // Written with a time (or as an instant), it is midnight in `zone`.
  EXPECT_EQ(run(make("dd/MM/yyyy", "yyyy-MM-dd HH:mm", "Europe/Bucharest", "UTC"), "15/02/1990"), "1990-02-14 22:00");
  EXPECT_EQ(run(make("dd/MM/yyyy", "yyyy-MM-dd HH:mmXXX", "Europe/Bucharest"), "15/02/1990"), "1990-02-15 00:00+02:00");
  auto epoch = make("dd/MM/yyyy", "epoch_ms", "Europe/Bucharest").apply(json::value("02/01/1970"));
  ASSERT_TRUE(epoch.ok());
  EXPECT_EQ(epoch.value(), json::value(std::int64_t{22} * 3600 * 1000));
  // A day whose midnight does not exist starts when the clocks jump (America/Santiago, 2026-09-06).
  EXPECT_EQ(run(make("yyyy-MM-dd", "iso", "America/Santiago"), "2026-09-06"), "2026-09-06");
  EXPECT_EQ(run(make("yyyy-MM-dd", "yyyy-MM-dd HH:mm", "America/Santiago"), "2026-09-06"), "2026-09-06 01:00");
}

// --------------------------------------------------------------------------------------------
// iso and epoch_ms

TEST(DateTransformTest, ReadsIso8601) {
  auto t = make("iso", "yyyy-MM-dd HH:mm:ss.SSS", "Europe/Bucharest", "UTC");
  EXPECT_EQ(run(t, "2026-03-01"), "2026-02-28 22:00:00.000");
  EXPECT_EQ(run(t, "2026-03-01T09:00"), "2026-03-01 07:00:00.000");
  EXPECT_EQ(run(t, "2026-03-01T09:00:00"), "2026-03-01 07:00:00.000");
  EXPECT_EQ(run(t, "2026-03-01T09:00:00Z"), "2026-03-01 09:00:00.000");
  EXPECT_EQ(run(t, "2026-03-01t09:00:00z"), "2026-03-01 09:00:00.000");
  EXPECT_EQ(run(t, "2026-03-01 09:00:00Z"), "2026-03-01 09:00:00.000");
  EXPECT_EQ(run(t, "2026-03-01T09:00:00.250+02:00"), "2026-03-01 07:00:00.250");
  EXPECT_EQ(run(t, "2026-03-01T09:00:00.25+0200"), "2026-03-01 07:00:00.250");
  EXPECT_EQ(run(t, "2026-03-01T09:00:00.5-03"), "2026-03-01 12:00:00.500");
  EXPECT_EQ(run(t, "2026-03-01T09:00:00,5Z"), "2026-03-01 09:00:00.500");
  // Finer than milliseconds: the extra digits are dropped.
  EXPECT_EQ(run(t, "2026-03-01T09:00:00.123456789Z"), "2026-03-01 09:00:00.123");
}

TEST(DateTransformTest, RefusesWhatIsNotIso8601) {
  auto t = make("iso", "iso");
  for (auto bad : {"2026-3-1", "01/03/2026", "2026-03-01T", "2026-03-01T9:00", "2026-03-01T09", "2026-03-01T09:00:0",
                   "2026-03-01T09:00:00.", "2026-03-01T09:00:00.1234567890Z", "2026-03-01T09:00:00+2",
                   "2026-03-01T09:00:00Zx", "2026-03-01Z", "20260301", " 2026-03-01", "2026-03-01x", ""}) {
    EXPECT_EQ(run(t, bad), std::string("ERROR: '") + bad +
                               "' is not an ISO 8601 date or date-time (such as 2026-03-01, 2026-03-01T09:00:00Z or "
                               "2026-03-01T09:00:00.250+02:00)")
        << bad;
  }
  EXPECT_EQ(run(t, "2023-02-29"), "ERROR: '2023-02-29' is not a calendar date in ISO 8601 (February 2023 has 28 days)");
  EXPECT_EQ(run(t, "2026-03-01T24:00:00Z"),
            "ERROR: '2026-03-01T24:00:00Z' is not a valid time in ISO 8601 (hour 24; hours are 00 to 23)");
}

TEST(DateTransformTest, WritesIso8601) {
  auto t = make("iso", "iso", "Europe/Bucharest");
  EXPECT_EQ(run(t, "2026-03-01"), "2026-03-01");  // no time in, no time out
  EXPECT_EQ(run(t, "2026-03-01T09:00"), "2026-03-01T09:00:00+02:00");
  EXPECT_EQ(run(t, "2026-03-01T09:00:00.250Z"), "2026-03-01T11:00:00.250+02:00");
  auto utc = make("iso", "iso");
  EXPECT_EQ(run(utc, "2026-03-01T09:00:00+02:00"), "2026-03-01T07:00:00Z");
  EXPECT_EQ(run(utc, "2026-03-01T09:00:00.001Z"), "2026-03-01T09:00:00.001Z");
  // A pattern with a time gives a full date-time; one without gives a date.
  EXPECT_EQ(run(make("dd/MM/yyyy HH:mm", "iso"), "01/03/2026 09:00"), "2026-03-01T09:00:00Z");
  EXPECT_EQ(run(make("dd/MM/yyyy", "iso"), "01/03/2026"), "2026-03-01");
}

TEST(DateTransformTest, EpochMillisecondsIn) {
  auto t = make("epoch_ms", "iso");
  EXPECT_EQ(run(t, json::value(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(run(t, json::value(std::int64_t{1772355600250})), "2026-03-01T09:00:00.250Z");
  EXPECT_EQ(run(t, json::value("1772355600250")), "2026-03-01T09:00:00.250Z");
  EXPECT_EQ(run(t, json::value(-1)), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(run(t, num("1772355600000.0")), "2026-03-01T09:00:00Z");  // a whole double
  EXPECT_EQ(run(make("epoch_ms", "yyyy-MM-dd HH:mm", "UTC", "Europe/Bucharest"), json::value(0)), "1970-01-01 02:00");
  EXPECT_EQ(run(t, json::value(1.5)), "ERROR: '1.5' is not a whole number of milliseconds since 1970 (epoch_ms)");
  EXPECT_EQ(run(t, json::value("12a")), "ERROR: '12a' is not a whole number of milliseconds since 1970 (epoch_ms)");
  EXPECT_THAT(run(t, json::value("")), HasSubstr("is not a whole number of milliseconds"));
  EXPECT_THAT(run(t, json::value(" 12")), HasSubstr("is not a whole number of milliseconds"));
  EXPECT_THAT(run(t, num("99999999999999999999")), HasSubstr("outside the years 0000 to 9999"));
  EXPECT_THAT(run(t, json::value(std::int64_t{253402300800000})), HasSubstr("outside the years 0000 to 9999"));
  EXPECT_EQ(run(t, json::value(std::int64_t{253402300799999})), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(run(t, json::value(nullptr)),
            "ERROR: expected a number or a string of milliseconds since 1970 (epoch_ms), got null");
  EXPECT_THAT(run(t, json::value(true)), HasSubstr("got a boolean"));
}

TEST(DateTransformTest, EpochMillisecondsOut) {
  auto t = make("iso", "epoch_ms");
  auto r = t.apply(json::value("2026-03-01T09:00:00.250Z"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r.value().is_int64());
  EXPECT_EQ(r.value().get_int64(), 1772355600250);
  auto local = make("dd/MM/yyyy HH:mm", "epoch_ms", "Europe/Bucharest").apply(json::value("01/03/2026 11:00"));
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local.value().get_int64(), 1772355600000);
  auto before = make("iso", "epoch_ms").apply(json::value("1969-12-31T23:59:59.999Z"));
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before.value().get_int64(), -1);
}

TEST(DateTransformTest, RefusesAYearBeyond9999) {
  auto t = make("iso", "iso", "UTC");
  EXPECT_EQ(run(t, "9999-12-31T23:00:00-05:00"),
            "ERROR: '9999-12-31T23:00:00-05:00' falls in the year 10000 in UTC, outside the years 0000 to 9999");
  EXPECT_EQ(run(t, "9999-12-31T23:00:00+05:00"), "9999-12-31T18:00:00Z");
}

TEST(DateTransformTest, FormatsNow) {
  // 2026-03-01T09:00:00.250Z
  auto now = std::chrono::system_clock::time_point(std::chrono::milliseconds(1772355600250));
  EXPECT_EQ(make("iso", "iso").format(now), "2026-03-01T09:00:00.250Z");
  EXPECT_EQ(make("iso", "iso", "Europe/Bucharest").format(now), "2026-03-01T11:00:00.250+02:00");
  EXPECT_EQ(make("iso", "dd/MM/yyyy HH:mm", "UTC", "Asia/Tokyo").format(now), "01/03/2026 18:00");
  EXPECT_EQ(make("iso", "yyyy-MM-dd").format(now), "2026-03-01");
  EXPECT_EQ(make("iso", "epoch_ms").format(now), "1772355600250");
  // Sub-millisecond parts are dropped.
  EXPECT_EQ(make("iso", "iso").format(now + std::chrono::microseconds(999)), "2026-03-01T09:00:00.250Z");
}

TEST(DateTransformTest, IsUsableFromManyThreads) {
  auto t = make("yyyy-MM-dd HH:mm", "iso", "Europe/Bucharest", "America/New_York");
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  threads.reserve(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 500; ++j) {
        if (run(t, "2026-07-15 12:00") != "2026-07-15T05:00:00-04:00") ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

// --------------------------------------------------------------------------------------------
// Minor units

json::value minor(const json::value& amount, std::string_view currency) {
  auto r = to_minor_units(amount, currency);
  if (!r.ok()) {
    ADD_FAILURE() << core::serialize(amount) << " " << currency << ": " << r.error().message;
    return nullptr;
  }
  return r.value();
}
json::value minor(const char* amount, std::string_view currency) { return minor(json::value(amount), currency); }

std::string minor_error(const json::value& amount, std::string_view currency) {
  return error_of(to_minor_units(amount, currency));
}
std::string minor_error(const char* amount, std::string_view currency) {
  return minor_error(json::value(amount), currency);
}

TEST(CurrencyTest, Exponents) {
  EXPECT_EQ(currency_exponent("EUR"), 2);
  EXPECT_EQ(currency_exponent("RON"), 2);
  EXPECT_EQ(currency_exponent("USD"), 2);
  for (auto c : {"JPY", "KRW", "ISK", "CLP", "VND", "XAF", "XOF", "UGX", "PYG", "RWF", "KMF", "GNF", "DJF", "BIF",
                 "VUV", "XPF"}) {
    EXPECT_EQ(currency_exponent(c), 0) << c;
  }
  for (auto c : {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}) EXPECT_EQ(currency_exponent(c), 3) << c;
  for (auto c : {"CLF", "UYW"}) EXPECT_EQ(currency_exponent(c), 4) << c;
  for (auto c : {"AED", "CHF", "GBP", "HUF", "MDL", "BGN", "PLN", "CZK", "CNY", "INR", "ZAR", "XCD", "ZMW"}) {
    EXPECT_EQ(currency_exponent(c), 2) << c;
  }
  // Not currencies, no longer active, no minor unit, or not upper case.
  for (auto c : {"", "EU", "EURO", "eur", "XYZ", "HRK", "XAU", "XDR", "XXX", "XTS", "DEM"}) {
    EXPECT_EQ(currency_exponent(c), std::nullopt) << c;
  }
}

TEST(MinorUnitsTest, Strings) {
  EXPECT_EQ(minor("1234.56", "EUR"), json::value(123456));
  EXPECT_EQ(minor("1234", "EUR"), json::value(123400));
  EXPECT_EQ(minor("1234.5", "EUR"), json::value(123450));
  EXPECT_EQ(minor("0.01", "EUR"), json::value(1));
  EXPECT_EQ(minor("0", "EUR"), json::value(0));
  EXPECT_EQ(minor("1234", "JPY"), json::value(1234));
  EXPECT_EQ(minor("1.234", "KWD"), json::value(1234));
  EXPECT_EQ(minor("1.2345", "CLF"), json::value(12345));
  EXPECT_EQ(minor("007.50", "EUR"), json::value(750));
}

TEST(MinorUnitsTest, TrailingZerosBeyondTheExponentAreFine) {
  EXPECT_EQ(minor("100.00", "JPY"), json::value(100));
  EXPECT_EQ(minor("12.3400", "EUR"), json::value(1234));
  EXPECT_EQ(minor("1.2340", "KWD"), json::value(1234));
}

TEST(MinorUnitsTest, Negative) {
  EXPECT_EQ(minor("-12.34", "EUR"), json::value(-1234));
  EXPECT_EQ(minor("-0.01", "EUR"), json::value(-1));
  EXPECT_EQ(minor("-5", "JPY"), json::value(-5));
  auto zero = minor("-0.00", "EUR");
  ASSERT_TRUE(zero.is_int64());
  EXPECT_EQ(zero.get_int64(), 0);
}

TEST(MinorUnitsTest, NeverRounds) {
  EXPECT_EQ(minor_error("1234.567", "RON"), "'1234.567' has 3 decimals but RON has 2");
  EXPECT_EQ(minor_error("12.5", "JPY"), "'12.5' has 1 decimal but JPY has 0");
  EXPECT_EQ(minor_error("1.23456", "CLF"), "'1.23456' has 5 decimals but CLF has 4");
  EXPECT_EQ(minor_error("0.001", "EUR"), "'0.001' has 3 decimals but EUR has 2");
  EXPECT_EQ(minor_error("1.0010", "EUR"), "'1.0010' has 3 decimals but EUR has 2");
  EXPECT_EQ(minor_error(num("1234.567"), "EUR"), "'1234.567' has 3 decimals but EUR has 2");
}

TEST(MinorUnitsTest, RefusesLooseText) {
  for (auto bad : {"",  " 12", "12 ",   "1e3", "1E3",  "1,000.00", "1 000",    "+1",  ".5",  "5.",
                   "-", "-.5", "1.2.3", "12a", "0x10", "NaN",      "Infinity", "1,5", "--1", "1_000"}) {
    auto msg = minor_error(bad, "EUR");
    EXPECT_EQ(msg, std::string("'") + bad +
                       "' is not a decimal amount: write digits with an optional '-' and '.' decimals, such as 1234.56 "
                       "(no blanks, '+', exponent or thousands separators)")
        << bad;
  }
}

TEST(MinorUnitsTest, JsonNumbers) {
  EXPECT_EQ(minor(num("1234.56"), "EUR"), json::value(123456));
  EXPECT_EQ(minor(num("1234"), "EUR"), json::value(123400));
  EXPECT_EQ(minor(num("-12.34"), "EUR"), json::value(-1234));
  EXPECT_EQ(minor(num("100.00"), "JPY"), json::value(100));
  EXPECT_EQ(minor(num("1e3"), "EUR"), json::value(100000));  // a JSON number may have an exponent
  EXPECT_EQ(minor(num("1.5E1"), "JPY"), json::value(15));
  EXPECT_EQ(minor(json::value(0.07), "EUR"), json::value(7));
  EXPECT_EQ(minor(json::value(std::uint64_t{5}), "EUR"), json::value(500));
  EXPECT_EQ(minor_error(num("1.5e-7"), "EUR"), "'1.5e-07' has 8 decimals but EUR has 2");
}

TEST(MinorUnitsTest, StaysExactBeyondDoubles) {
  // 2^53 + 1 cents: a double would lose the last cent.
  auto r = minor("90071992547409.93", "EUR");
  ASSERT_TRUE(r.is_int64());
  EXPECT_EQ(r.get_int64(), 9007199254740993);
  auto big = minor("123456789012345678.91", "EUR");
  EXPECT_EQ(core::raw_number_text(big), "12345678901234567891");
  EXPECT_EQ(core::serialize(big), "12345678901234567891");
  auto from_raw = minor(num("123456789012345678.91"), "EUR");
  EXPECT_EQ(core::raw_number_text(from_raw), "12345678901234567891");
  auto negative = minor("-123456789012345678.91", "EUR");
  EXPECT_EQ(core::raw_number_text(negative), "-12345678901234567891");
  auto edge = minor("92233720368547758.07", "EUR");  // INT64_MAX
  ASSERT_TRUE(edge.is_int64());
  EXPECT_EQ(edge.get_int64(), INT64_MAX);
  EXPECT_EQ(core::raw_number_text(minor("92233720368547758.08", "EUR")), "9223372036854775808");
  auto low = minor("-92233720368547758.08", "EUR");  // INT64_MIN
  ASSERT_TRUE(low.is_int64());
  EXPECT_EQ(low.get_int64(), INT64_MIN);
}

TEST(MinorUnitsTest, UnknownCurrenciesAndWrongTypes) {
  EXPECT_EQ(minor_error("12", "XYZ"), "currency 'XYZ' is not an active ISO 4217 currency code (such as EUR, USD, JPY)");
  EXPECT_EQ(minor_error("12", ""), "currency '' is not an active ISO 4217 currency code (such as EUR, USD, JPY)");
  EXPECT_EQ(minor_error("12", "eur"), "currency 'eur' is not an ISO 4217 code: write it in upper case (EUR)");
  EXPECT_EQ(minor_error(json::value(nullptr), "EUR"), "expected a number or a string, got null");
  EXPECT_EQ(minor_error(json::value(true), "EUR"), "expected a number or a string, got a boolean");
  EXPECT_EQ(minor_error(json::value(json::array{}), "EUR"), "expected a number or a string, got an array");
  EXPECT_EQ(minor_error(json::value(json::object{{"a", 1}}), "EUR"), "expected a number or a string, got an object");
}

// --------------------------------------------------------------------------------------------
// Text

std::string text(const Result<json::value>& r) {
  if (!r.ok()) return "ERROR: " + r.error().message;
  if (!r.value().is_string()) return "NOT A STRING";
  return std::string(r.value().get_string());
}

TEST(TextTest, Trim) {
  EXPECT_EQ(text(trim(json::value("  Romania \t\r\n"))), "Romania");
  EXPECT_EQ(text(trim(json::value("a b"))), "a b");
  EXPECT_EQ(text(trim(json::value("   "))), "");
  EXPECT_EQ(text(trim(json::value(""))), "");
  EXPECT_EQ(text(trim(json::value("\v\fx\f"))), "x");
  EXPECT_EQ(text(trim(json::value(12))), "ERROR: expected a string, got a number");
}

TEST(TextTest, UpperAndLowerChangeAsciiLettersOnly) {
  EXPECT_EQ(text(upper(json::value("ro-b 12 ăîș z"))), "RO-B 12 ăîș Z");
  EXPECT_EQ(text(lower(json::value("RO-B 12 ĂÎȘ Z"))), "ro-b 12 ĂÎȘ z");
  EXPECT_EQ(text(upper(json::value("`az{"))), "`AZ{");
  EXPECT_EQ(text(lower(json::value("@AZ["))), "@az[");
  EXPECT_EQ(text(upper(json::value(""))), "");
  EXPECT_EQ(text(upper(json::value(nullptr))), "ERROR: expected a string, got null");
  EXPECT_EQ(text(lower(json::value(false))), "ERROR: expected a string, got a boolean");
}

// --------------------------------------------------------------------------------------------
// Type conversions

TEST(ToNumberTest, NumbersAsTheyAre) {
  EXPECT_EQ(to_number(json::value(42)).value(), json::value(42));
  EXPECT_EQ(to_number(json::value(1.5)).value(), json::value(1.5));
  auto raw = num("123456789012345678901234567890.5");
  EXPECT_EQ(core::raw_number_text(to_number(raw).value()), "123456789012345678901234567890.5");
}

TEST(ToNumberTest, StringsHoldingNumbers) {
  EXPECT_EQ(to_number(json::value("42")).value(), json::value(42));
  EXPECT_EQ(to_number(json::value("-1.50")).value(), json::value(-1.5));
  EXPECT_EQ(to_number(json::value("0")).value(), json::value(0));
  EXPECT_EQ(to_number(json::value("2.5e3")).value(), json::value(2500.0));
  EXPECT_EQ(to_number(json::value("1E-2")).value(), json::value(0.01));
  EXPECT_EQ(to_number(json::value("007")).value(), json::value(7));  // leading zeros tolerated
  EXPECT_EQ(to_number(json::value("18446744073709551615")).value(), json::value(UINT64_MAX));
  auto big = to_number(json::value("123456789012345678901234567890"));
  EXPECT_EQ(core::raw_number_text(big.value()), "123456789012345678901234567890");
  auto precise = to_number(json::value("0.12345678901234567890"));
  EXPECT_EQ(core::raw_number_text(precise.value()), "0.12345678901234567890");
}

TEST(ToNumberTest, RefusesWhatIsNotANumber) {
  for (auto bad : {"abc", "", " 1", "1 ", "1,5", "1,000", "+1", ".5", "5.", "1e", "1e+", "--1", "0x1A", "NaN",
                   "Infinity", "1.2.3", "-"}) {
    EXPECT_EQ(error_of(to_number(json::value(bad))),
              std::string("'") + bad +
                  "' is not a number: write a JSON number such as 42, -1.50 or 2.5e3 (no blanks, '+' or thousands "
                  "separators, '.' for decimals)")
        << bad;
  }
  EXPECT_EQ(error_of(to_number(json::value(nullptr))), "expected a number or a string, got null");
  EXPECT_EQ(error_of(to_number(json::value(true))), "expected a number or a string, got a boolean");
  EXPECT_EQ(error_of(to_number(json::value(json::array{}))), "expected a number or a string, got an array");
}

TEST(ToStringTest, Conversions) {
  EXPECT_EQ(text(to_string(json::value("x"))), "x");
  EXPECT_EQ(text(to_string(json::value(42))), "42");
  EXPECT_EQ(text(to_string(json::value(-1.5))), "-1.5");
  EXPECT_EQ(text(to_string(json::value(std::uint64_t{18446744073709551615ULL}))), "18446744073709551615");
  EXPECT_EQ(text(to_string(num("3664.09"))), "3664.09");
  EXPECT_EQ(text(to_string(num("12345678901234567890123.45"))), "12345678901234567890123.45");
  EXPECT_EQ(text(to_string(json::value(true))), "true");
  EXPECT_EQ(text(to_string(json::value(false))), "false");
  EXPECT_EQ(text(to_string(json::value(nullptr))), "ERROR: expected a string, a number or a boolean, got null");
  EXPECT_EQ(text(to_string(json::value(json::array{}))),
            "ERROR: expected a string, a number or a boolean, got an array");
  EXPECT_EQ(text(to_string(json::value(json::object{}))),
            "ERROR: expected a string, a number or a boolean, got an object");
}

TEST(ToBooleanTest, Conversions) {
  auto is = [](const json::value& v) {
    auto r = to_boolean(v);
    EXPECT_TRUE(r.ok()) << core::serialize(v);
    return r.ok() && r.value().is_bool() ? r.value().get_bool() : std::optional<bool>();
  };
  EXPECT_EQ(is(json::value(true)), true);
  EXPECT_EQ(is(json::value(false)), false);
  for (auto s : {"true", "TRUE", "True", "tRuE", "1"}) EXPECT_EQ(is(json::value(s)), true) << s;
  for (auto s : {"false", "FALSE", "False", "0"}) EXPECT_EQ(is(json::value(s)), false) << s;
  EXPECT_EQ(is(json::value(1)), true);
  EXPECT_EQ(is(json::value(0)), false);
  EXPECT_EQ(is(json::value(std::uint64_t{1})), true);
}

TEST(ToBooleanTest, RefusesAnythingElse) {
  for (auto s : {"yes", "no", "", " true", "t", "2", "01", "1.0", "on"}) {
    EXPECT_EQ(error_of(to_boolean(json::value(s))),
              std::string("'") + s +
                  "' is not a boolean; expected true, false, 1 or 0 (as a string in any case, or as a value)")
        << s;
  }
  EXPECT_EQ(error_of(to_boolean(json::value(2))), "2 is not a boolean; expected true, false, 1 or 0");
  EXPECT_EQ(error_of(to_boolean(json::value(-1))), "-1 is not a boolean; expected true, false, 1 or 0");
  EXPECT_EQ(error_of(to_boolean(json::value(0.5))), "0.5 is not a boolean; expected true, false, 1 or 0");
  EXPECT_EQ(error_of(to_boolean(json::value(nullptr))), "expected a boolean, a number or a string, got null");
  EXPECT_EQ(error_of(to_boolean(json::value(json::object{}))),
            "expected a boolean, a number or a string, got an object");
}

// --------------------------------------------------------------------------------------------
// uuid_v4

TEST(UuidTest, CanonicalVersion4) {
  for (int i = 0; i < 200; ++i) {
    auto id = uuid_v4();
    ASSERT_THAT(id, MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")) << id;
  }
}

TEST(UuidTest, UniqueAcrossThreads) {
  std::mutex m;
  std::set<std::string> all;
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<std::string> mine;
      mine.reserve(2000);
      for (int i = 0; i < 2000; ++i) mine.push_back(uuid_v4());
      std::lock_guard lock(m);
      all.insert(mine.begin(), mine.end());
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(all.size(), 8000U);
  // Every variant nibble shows up (the bits are random, not fixed).
  std::set<char> variants;
  for (const auto& id : all) variants.insert(id[19]);
  EXPECT_EQ(variants, (std::set<char>{'8', '9', 'a', 'b'}));
}

}  // namespace
}  // namespace fxconnect::flow
